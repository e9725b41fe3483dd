// The bash completion script: commands, show subcommands and per-command options complete (without
// the bash-completion package, as on this machine).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { cliNodeArgs } from '../helpers/cli-command.js';

function complete(...words: string[]): string[] {
  const script = `source completions/anycastd.bash; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _anycastd; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { cwd: projectRoot(), encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
}

test('commands, show subcommands and options complete', () => {
  assert.deepEqual(complete('anycastd', 'd'), ['drain']);
  assert.deepEqual(complete('anycastd', 'cl'), ['cleanup']);
  assert.deepEqual(complete('anycastd', '--v'), ['--version']);
  assert.deepEqual(complete('anycastd', 'run', '--'), ['--config', '--pin-dir', '--help']);
  assert.deepEqual(complete('anycastd', 'check', '--j'), ['--json']);
  assert.deepEqual(complete('anycastd', 'cleanup', '--p'), ['--pin-dir']);
  assert.deepEqual(complete('anycastd', 'show', 'r'), ['routes', 'rings']);
  assert.deepEqual(complete('anycastd', 'show', 'flows', '--l'), ['--limit']);
  assert.deepEqual(complete('anycastd', 'reload', '--s'), ['--socket']);
});

test('the new commands complete: plan, peer reset, show peer and show checks', () => {
  assert.deepEqual(complete('anycastd', 'pl'), ['plan']);
  assert.deepEqual(complete('anycastd', 'plan', '--f'), ['--from']);
  assert.deepEqual(complete('anycastd', 'check', '--d'), ['--diff']);
  assert.deepEqual(complete('anycastd', 'peer', ''), ['reset']);
  assert.deepEqual(complete('anycastd', 'peer', 'reset', '--h'), ['--hard', '--help']);
  assert.deepEqual(complete('anycastd', 'show', 'pe'), ['peers', 'peer']);
  assert.deepEqual(complete('anycastd', 'show', 'ch'), ['checks']);
});

// Commander's help lists the commands one a line, two spaces in: `  name [options] ...  description`.
function helpCommands(...args: string[]): string[] {
  const help = execFileSync(process.execPath, [...cliNodeArgs(), ...args, '--help'], {
    cwd: projectRoot(),
    encoding: 'utf8',
  });
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string);
}

test('every command and show subcommand the CLI has is offered (the script cannot fall behind)', () => {
  const commands = helpCommands();
  const shows = helpCommands('show');
  assert.ok(commands.includes('plan') && shows.includes('checks'), `help parsed: ${commands} / ${shows}`);
  // demo and bench exist only in a checkout (this one); the script is for the package, which has neither.
  for (const c of commands.filter((name) => name !== 'demo' && name !== 'bench'))
    assert.ok(complete('anycastd', c).includes(c), `command ${c} not completed`);
  for (const s of shows.filter((name) => name !== 'help'))
    assert.ok(complete('anycastd', 'show', s).includes(s), `show ${s} not completed`);
});
