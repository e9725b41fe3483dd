// `anycastd check` (in this process, run-cli.ts): every problem is one element of --json's `issues` ({code, path,
// message, severity}), an alias bomb is a located config error (exit 2, no stack trace), warnings carry
// severity "warning".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aliasBomb, BASE, variant } from '../config/fixtures.js';
import { scratchDir } from '../helpers/scratch-dir.js';
import { cli } from './run-cli.js';

test('check: alias bomb, several issues and warnings, as text and as a JSON list', async (t) => {
  const { file } = scratchDir(t, 'acd-check-');
  const bomb = file('bomb.yaml', aliasBomb());
  const bad = file(
    'bad.yaml',
    variant(
      'asn: 4200000011',
      'asn: 65000.5',
      variant('  uplinks: [eth0]\n', '  uplinks: [eth0]\n  colour: blue\n'),
    ),
  );
  // two hosts and no key file: the cluster warning
  const warned = file('warned.yaml', BASE);
  const [bombText, bombJson, badJson, warnedJson] = await Promise.all([
    cli(['check', '-c', bomb]),
    cli(['check', '-c', bomb, '--json']),
    cli(['check', '-c', bad, '--json']),
    cli(['check', '-c', warned, '--json']),
  ]);
  assert.equal(bombText.code, 2);
  assert.doesNotMatch(bombText.stderr, /\n\s+at |ReferenceError/, 'no stack trace');
  assert.match(bombText.stderr, /bomb\.yaml:2:\d+: expected YAML whose aliases expand to at most 100 nodes/);
  assert.equal(bombJson.code, 2);
  const b = JSON.parse(bombJson.stdout);
  assert.equal(b.ok, false);
  assert.deepEqual(
    b.issues.map((i: { code: string; severity: string }) => [i.code, i.severity]),
    [['CONFIG_ALIAS_LIMIT', 'error']],
  );

  assert.equal(badJson.code, 2);
  const issues = JSON.parse(badJson.stdout).issues as { code: string; path: string; message: string }[];
  assert.deepEqual(
    issues.map((i) => [i.code, i.path]),
    [
      ['CONFIG_TYPE', 'node.asn'],
      ['CONFIG_UNKNOWN_KEY', 'node.colour'],
    ],
  );
  assert.equal(issues[0]!.message, 'expected an integer, found 65000.5');

  assert.equal(warnedJson.code, 0, warnedJson.stderr);
  const w = JSON.parse(warnedJson.stdout);
  assert.equal(w.ok, true);
  assert.deepEqual(
    w.issues.map((i: { code: string; path: string; severity: string }) => [i.code, i.path, i.severity]),
    [['CLUSTER_KEY_FILE_UNSET', 'cluster.key_file', 'warning']],
  );
});
