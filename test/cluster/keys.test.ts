// The cluster key file as the config loader reads it (start, reload, `anycastd check`): hex, base64 and
// comment lines; too-short keys, bad lines, a missing, unreadable or too-open file refused
// with the path named and the key located in the config; keys never rendered; what `check` warns about
// (no key file, an unprivileged port); a reload with a bad key file keeps the running keys; and the
// signatures across a rotation (old and new both verify while the first line signs). A foreign-owned
// file needs root to make: keys-owner.root.test.ts.

import assert from 'node:assert/strict';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { inspect } from 'node:util';
import { signReply, signRequest, verifyReply, verifyRequest } from '../../src/cluster/auth.js';
import { ClusterKeys, KeyFileProblem, parseKeyText } from '../../src/config/cluster-keys.js';
import { ConfigStore, check, loadConfig } from '../../src/config/index.js';
import { DEFAULT_CLUSTER_PORT } from '../../src/config/schema.js';
import { configIssue, keyFiles } from './key-files.js';
import { keysOf, newKey } from './support.js';

const files = keyFiles('acd-cluster-keys-');
after(() => files.remove());
const { dir, keyFile, configFile } = files;

const A = newKey();
const B = newKey();

test('key text: hex, base64 and base64url lines, comments skipped; the first signs, all verify', () => {
  const text = `# cluster keys\n${A.toString('hex')}\n\n  ${B.toString('base64')}  \n${A.toString('base64url')}\n`;
  const keys = parseKeyText(text, '/k');
  assert.deepEqual(keys.all, [A, B, A]);
  assert.deepEqual(keys.signing, A);
  const bad: [string, RegExp][] = [
    ['', /^\/k: no key$/],
    ['# only a comment\n', /^\/k: no key$/],
    [`${A.toString('hex')}\nnot a key!\n`, /^\/k line 2: neither hex nor base64$/],
    [`${A.subarray(0, 31).toString('hex')}\n`, /^\/k line 1: a key of 31 bytes$/],
    [`${Array.from({ length: 9 }, () => A.toString('hex')).join('\n')}\n`, /^\/k: 9 keys$/],
  ];
  for (const [t, re] of bad)
    assert.throws(
      () => parseKeyText(t, '/k'),
      (err: unknown) => err instanceof KeyFileProblem && re.test(err.found),
    );
});

test('keys are never rendered: JSON and inspect show the fingerprint only', () => {
  const keys = keysOf(A);
  const hex = A.toString('hex');
  assert.equal(JSON.stringify({ keys }), `{"keys":{"fingerprint":"${keys.fingerprint}"}}`);
  assert.ok(!inspect({ keys }, { depth: 5 }).includes(hex));
  assert.notEqual(keys.fingerprint, keysOf(B).fingerprint);
  assert.equal(keys.fingerprint, new ClusterKeys([A]).fingerprint);
});

test('the loader reads the key file into the config; a bad one is refused naming the path and the key', async () => {
  const good = keyFile('good.key', `${A.toString('hex')}\n`);
  const cfg = await loadConfig(configFile('good.yaml', `cluster: { key_file: ${good} }`));
  assert.equal(cfg.cluster.keyFile, good);
  assert.equal(cfg.cluster.keys?.fingerprint, keysOf(A).fingerprint);
  assert.equal(cfg.cluster.port, DEFAULT_CLUSTER_PORT);
  mkdirSync(join(dir, 'a-dir.key'), { mode: 0o700 });
  const cases: [string, string][] = [
    [join(dir, 'missing.key'), `expected a readable key file, found ${join(dir, 'missing.key')}: ENOENT`],
    [
      keyFile('world.key', `${A.toString('hex')}\n`, 0o644),
      `expected a key file no other user can read or change (mode 0600 or 0640), found ${join(dir, 'world.key')}: mode 0644 (readable by others)`,
    ],
    [
      keyFile('group-w.key', `${A.toString('hex')}\n`, 0o620),
      `expected a key file no other user can read or change (mode 0600 or 0640), found ${join(dir, 'group-w.key')}: mode 0620 (writable by group or others)`,
    ],
    [
      join(dir, 'a-dir.key'),
      `expected a regular key file, found ${join(dir, 'a-dir.key')}: not a regular file`,
    ],
    [
      keyFile('short.key', 'abcd\n'),
      `expected keys of at least 32 bytes in hex or base64, one per line, found ${join(dir, 'short.key')} line 1: a key of 2 bytes`,
    ],
  ];
  for (const [path, message] of cases) {
    const file = configFile('bad.yaml', `cluster:\n  key_file: ${path}`);
    assert.equal(await configIssue(file), `${file}:7:13: cluster.key_file: ${message}`);
    const r = await check(file);
    assert.ok(!r.ok, 'check refuses it too');
  }
  // group-readable (0640, e.g. group anycastd) is fine
  const shared = keyFile('group-r.key', `${A.toString('hex')}\n`, 0o640);
  assert.ok((await loadConfig(configFile('g.yaml', `cluster: { key_file: ${shared} }`))).cluster.keys);
});

test('check warns of a channel without keys and of an unprivileged port, not of the defaults with a key', async () => {
  const none = await check(configFile('none.yaml', 'cluster: { port: 9470 }'));
  assert.ok(none.ok);
  assert.deepEqual(
    none.warnings.map((w) => w.split(':')[0]),
    ['cluster.key_file', 'cluster.port'],
  );
  assert.match(none.warnings[0]!, /not set, so the agents exchange no reports/);
  assert.match(
    none.warnings[1]!,
    /^cluster\.port: 9470 is not privileged \(< 1024\): another local user can listen/,
  );
  const good = keyFile('w.key', `${A.toString('hex')}\n`);
  const ok = await check(configFile('ok.yaml', `cluster: { key_file: ${good} }`));
  assert.ok(ok.ok);
  assert.deepEqual(ok.warnings, []);
  const off = await check(configFile('off.yaml', 'cluster: { enabled: false, port: 9470 }'));
  assert.ok(off.ok);
  assert.deepEqual(off.warnings, [], 'a disabled channel has nothing to warn about');
});

test('a reload re-reads the key file; a bad one is rejected and the running keys stay', async () => {
  const path = keyFile('reload.key', `${A.toString('hex')}\n`);
  const file = configFile('reload.yaml', `cluster: { key_file: ${path} }`);
  const store = new ConfigStore(await loadConfig(file));
  const first = store.current.cluster.keys!.fingerprint;
  keyFile('reload.key', `${B.toString('hex')}\n${A.toString('hex')}\n`);
  const rotated = await store.reload();
  assert.ok(rotated.ok);
  assert.ok(rotated.diff.cluster, 'a key change is a cluster change');
  assert.notEqual(store.current.cluster.keys!.fingerprint, first);
  assert.deepEqual(store.current.cluster.keys!.signing, B);
  const running = store.current.cluster.keys!.fingerprint;
  keyFile('reload.key', 'not a key!\n');
  const rejected = await store.reload();
  assert.ok(!rejected.ok);
  assert.match(
    rejected.error.message,
    new RegExp(`cluster.key_file: .*${path} line 1: neither hex nor base64`),
  );
  assert.equal(store.current.cluster.keys!.fingerprint, running, 'the running keys are kept');
  chmodSync(path, 0o604);
  keyFile('reload.key', `${B.toString('hex')}\n`, 0o604);
  assert.ok(!(await store.reload()).ok, 'a key file made world-readable is refused on reload');
  assert.equal(store.current.cluster.keys!.fingerprint, running);
});

test('rotation: the first key signs, every key verifies; a host without the signer refuses', () => {
  const target = '/v1/instances?since=&wait=0';
  const old = keysOf(A);
  const both = keysOf(A, B); // step 1: the new key added, the old still signs
  const moved = keysOf(B, A); // step 2: the new key first
  const fresh = keysOf(B); // step 3: the old key removed
  const ok = (signer: ClusterKeys, verifier: ClusterKeys): boolean => {
    const req = signRequest(signer, 'GET', target);
    const r = verifyRequest(verifier, 'GET', target, req.headers);
    const body = Buffer.from('{}');
    const reply = verifyReply(verifier, req.nonce, signReply(signer, req.nonce, body), body);
    return r.ok && reply.ok;
  };
  // every pair of neighbouring steps talks, both ways: a rotation never stops the channel
  for (const [a, b] of [
    [old, both],
    [both, moved],
    [moved, fresh],
  ] as const) {
    assert.ok(ok(a, b) && ok(b, a));
  }
  assert.ok(!ok(old, fresh) && !ok(fresh, old), 'skipping a step breaks it: the keys are really checked');
});
