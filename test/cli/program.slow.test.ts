// The `anycastd` program itself, as a process (run-cli.ts cliProcess: the built CLI, or the source through
// tsx), one case per command family the unit tier runs in-process: --version, check, plan, peer and
// cleanup — their output on the real stdout and stderr and their exit status (cli.root.test.ts does the
// same for show, drain, undrain and reload). Slow tier: a node start per case.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { projectRoot } from '../../src/native/addon.js';
import { aliasBomb, BASE, variant } from '../config/fixtures.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { cliProcess } from './run-cli.js';

test('the program: --version, check, plan, peer reset and cleanup print and exit as scripts expect', async (t) => {
  const { dir, file } = scratchDir(t, 'acd-program-');
  const bomb = file('bomb.yaml', aliasBomb());
  const base = file('base.yaml', BASE);
  const grown = file('grown.yaml', variant('hold_time: 9s', 'hold_time: 6s'));
  const gone = join(dir, 'nobody.sock');
  const [version, checked, plan, reset, cleanup] = await Promise.all([
    cliProcess(['--version']),
    cliProcess(['check', '-c', bomb]),
    cliProcess(['plan', '--from', base, '-c', grown, '--json']),
    cliProcess(['peer', 'reset', 'tor1', '--socket', gone]),
    cliProcess(['cleanup', '-c', join(dir, 'missing.yaml'), '--json']),
  ]);
  const { version: pkg } = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
    version: string;
  };
  assert.deepEqual([version.code, version.stdout], [0, `${pkg}\n`]);
  assert.equal(checked.code, 2);
  assert.match(checked.stderr, /bomb\.yaml:2:\d+: expected YAML whose aliases expand to at most 100 nodes/);
  assert.equal(plan.code, 0, plan.stderr);
  const sessions = (JSON.parse(plan.stdout) as { plan: { sessions: { peer: string; action: string }[] } })
    .plan.sessions;
  assert.deepEqual(
    sessions.map((s) => [s.peer, s.action]),
    [['tor1', 'reset']],
  );
  assert.equal(reset.code, 3, reset.stderr);
  assert.match(reset.stderr, /cannot reach the agent at .*nobody\.sock/);
  assert.equal(cleanup.code, 2, cleanup.stderr);
  assert.equal((JSON.parse(cleanup.stdout) as { code: string }).code, 'ERR_CONFIG');
});
