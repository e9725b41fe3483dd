// The bash completion script: commands, show subcommands and per-command options complete (without
// the bash-completion package, as on this machine).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';

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
