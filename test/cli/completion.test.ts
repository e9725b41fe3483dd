// The bash completion script: commands, show subcommands and per-command options complete (without
// the bash-completion package, as on this machine). One bash per test sources the script once and
// answers every case of it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { cli } from './run-cli.js';

/** Printed after each case's replies: no completion is this word. */
const END_OF_CASE = '--end-of-case--';

/** The completions bash offers for each list of words (the last one being completed), in one bash. */
function complete(cases: readonly (readonly string[])[]): string[][] {
  const script = [
    'source completions/anycastd.bash',
    ...cases.map(
      (words) =>
        `COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _anycastd; printf '%s\\n' "\${COMPREPLY[@]}" ${END_OF_CASE}`,
    ),
  ].join('\n');
  const out = execFileSync('bash', ['-c', script], { cwd: projectRoot(), encoding: 'utf8' });
  const replies = out.split(`${END_OF_CASE}\n`).map((block) => block.split('\n').filter(Boolean));
  assert.equal(replies.length, cases.length + 1, `one block per case:\n${out}`);
  return replies.slice(0, cases.length);
}

/** Each word list completes to exactly its replies. */
function assertCompletes(cases: readonly [words: string[], replies: string[]][]): void {
  const got = complete(cases.map(([words]) => words));
  cases.forEach(([words, replies], i) => {
    assert.deepEqual(got[i], replies, words.join(' '));
  });
}

test('commands, show subcommands and options complete', () => {
  assertCompletes([
    [['anycastd', 'd'], ['drain']],
    [['anycastd', 'cl'], ['cleanup']],
    [['anycastd', '--v'], ['--version']],
    [
      ['anycastd', 'run', '--'],
      ['--config', '--pin-dir', '--help'],
    ],
    [['anycastd', 'check', '--j'], ['--json']],
    [['anycastd', 'cleanup', '--p'], ['--pin-dir']],
    [
      ['anycastd', 'show', 'r'],
      ['routes', 'rings'],
    ],
    [['anycastd', 'show', 'flows', '--l'], ['--limit']],
    [['anycastd', 'reload', '--s'], ['--socket']],
  ]);
});

test('the new commands complete: plan, peer reset, show peer and show checks', () => {
  assertCompletes([
    [['anycastd', 'pl'], ['plan']],
    [['anycastd', 'plan', '--f'], ['--from']],
    [['anycastd', 'check', '--d'], ['--diff']],
    [['anycastd', 'peer', ''], ['reset']],
    [
      ['anycastd', 'peer', 'reset', '--h'],
      ['--hard', '--help'],
    ],
    [
      ['anycastd', 'show', 'pe'],
      ['peers', 'peer'],
    ],
    [['anycastd', 'show', 'ch'], ['checks']],
  ]);
});

// Commander's help lists the commands one a line, two spaces in: `  name [options] ...  description`.
async function helpCommands(...args: string[]): Promise<string[]> {
  const help = (await cli([...args, '--help'])).stdout;
  const section = help.split(/^Commands:$/m)[1]?.split(/^\S/m)[0] ?? '';
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1] as string);
}

test('every command and show subcommand the CLI has is offered (the script cannot fall behind)', async () => {
  const commands = await helpCommands();
  const shows = await helpCommands('show');
  assert.ok(commands.includes('plan') && shows.includes('checks'), `help parsed: ${commands} / ${shows}`);
  // demo and bench exist only in a checkout (this one); the script is for the package, which has neither.
  const offered = commands.filter((name) => name !== 'demo' && name !== 'bench');
  const subs = shows.filter((name) => name !== 'help');
  const got = complete([...offered.map((c) => ['anycastd', c]), ...subs.map((s) => ['anycastd', 'show', s])]);
  offered.forEach((c, i) => {
    assert.ok(got[i]?.includes(c), `command ${c} not completed`);
  });
  subs.forEach((s, i) => {
    assert.ok(got[offered.length + i]?.includes(s), `show ${s} not completed`);
  });
});
