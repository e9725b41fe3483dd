// cluster.backend etcd in the config: defaults, the instance list omitted, the cross-field rules, and the
// mutual-TLS files checked by the loader (missing, readable by others, not PEM: a located error naming the
// path; a reload with a bad file keeps the running config).
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { check, loadConfig, parseConfig } from '../../../src/config/load.js';
import { ConfigStore } from '../../../src/config/reload.js';
import { configWarningList } from '../../../src/config/warnings.js';
import { ConfigError } from '../../../src/errors.js';
import { BASE, variant } from '../../config/fixtures.js';

const FILE = '/etc/anycastd/test.yaml';
const dir = mkdtempSync(join(tmpdir(), 'etcdc-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NO_INSTANCES = variant(
  `    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }
`,
  '',
);

const etcd = (body: string, base = NO_INSTANCES): string => `${base}cluster:\n  backend: etcd\n${body}`;
const PLAIN = '  etcd:\n    endpoints: ["http://127.0.0.1:2379"]\n    prefix: /anycastd/f1\n';

function messages(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map(
      (i) => `${i.path}: ${i.expected}${i.found && i.found !== 'nothing' ? ` / ${i.found}` : ''}`,
    );
  }
  assert.fail('expected a ConfigError');
}

test('mesh stays the default; etcd mode fills the local instance when the list is omitted', () => {
  const mesh = parseConfig(BASE, FILE);
  assert.equal(mesh.cluster.backend, 'mesh');
  assert.equal(mesh.cluster.etcd, null);
  const cfg = parseConfig(etcd(PLAIN), FILE);
  assert.equal(cfg.cluster.backend, 'etcd');
  assert.deepEqual(cfg.cluster.etcd, {
    endpoints: ['http://127.0.0.1:2379'],
    prefix: '/anycastd/f1',
    tls: null,
    leaseTtlMs: 10_000,
    membersCache: null,
  });
  assert.deepEqual(cfg.services[0]!.instances, [
    { id: 'h1', host: { ipv4: '192.0.2.11', ipv6: '2001:db8::11' }, weight: 1 },
  ]);
  assert.equal(cfg.services[0]!.localInstanceId, 'h1');
  assert.deepEqual(configWarningList(cfg), [], 'no mesh warnings in etcd mode');
  const listed = parseConfig(etcd(PLAIN, BASE), FILE);
  assert.deepEqual(
    configWarningList(listed).map((w) => [w.code, w.path]),
    [['CLUSTER_ETCD_INSTANCES_IGNORED', 'services[0].instances']],
  );
});

test('config errors name the key: no instances in mesh mode, etcd settings, TTL, endpoints', () => {
  assert.deepEqual(messages(NO_INSTANCES), [
    'services[0].instances: at least one instance (the list may be omitted with cluster.backend etcd)',
  ]);
  assert.deepEqual(messages(etcd('')), [
    'cluster.etcd: the etcd settings (endpoints, prefix): cluster.backend is etcd',
  ]);
  assert.deepEqual(messages(etcd(`${PLAIN}    lease_ttl: 1500ms\n`)), [
    'cluster.etcd.lease_ttl: whole seconds from 3s to 5m / 1500ms',
  ]);
  assert.deepEqual(messages(etcd(`${PLAIN}    lease_ttl: 10m\n`)), [
    'cluster.etcd.lease_ttl: whole seconds from 3s to 5m / 600000ms',
  ]);
  assert.deepEqual(messages(etcd(`${PLAIN}    members_cache: var/cache.json\n`)), [
    'cluster.etcd.members_cache: an absolute path / "var/cache.json"',
  ]);
  const remote = PLAIN.replace('http://127.0.0.1:2379', 'http://192.0.2.50:2379');
  assert.deepEqual(messages(etcd(remote)), [
    'cluster.etcd.tls: mutual TLS (ca_file, cert_file, key_file): plain gRPC is allowed to loopback endpoints only / http://192.0.2.50:2379',
  ]);
  const bad = messages(etcd(PLAIN.replace('http://127.0.0.1:2379', 'ftp://x:1/path')));
  assert.equal(bad.length, 1);
  assert.match(bad[0]!, /^cluster\.etcd\.endpoints\[0\]: an etcd client URL/);
  assert.match(
    messages(etcd(PLAIN.replace('/anycastd/f1', 'anycastd/')))[0]!,
    /^cluster\.etcd\.prefix: a key prefix/,
  );
  assert.deepEqual(messages(`${BASE}cluster:\n${PLAIN}`), [
    'cluster.etcd: no etcd section (cluster.backend is mesh) / a mapping',
  ]);
});

function writeTls(mode = 0o600): { ca: string; cert: string; key: string } {
  const pem = (kind: string) => `-----BEGIN ${kind}-----\nAAAA\n-----END ${kind}-----\n`;
  const paths = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client-key.pem') };
  writeFileSync(paths.ca, pem('CERTIFICATE'), { mode: 0o644 });
  writeFileSync(paths.cert, pem('CERTIFICATE'), { mode: 0o644 });
  writeFileSync(paths.key, pem('PRIVATE KEY'), { mode });
  chmodSync(paths.key, mode);
  return paths;
}

const tlsConfig = (p: { ca: string; cert: string; key: string }): string =>
  etcd(
    `  etcd:\n    endpoints: ["https://192.0.2.50:2379"]\n    prefix: /anycastd/f1\n    lease_ttl: 5s\n` +
      `    tls: { ca_file: ${p.ca}, cert_file: ${p.cert}, key_file: ${p.key} }\n`,
  );

test('the TLS files are read and checked at load; a bad one is a located error naming the path', async () => {
  const p = writeTls();
  const file = join(dir, 'good.yaml');
  writeFileSync(file, tlsConfig(p));
  const ok = await check(file);
  assert.ok(ok.ok, ok.ok ? '' : ok.error.message);
  const tls = ok.config.cluster.etcd!.tls!;
  assert.equal(tls.material!.ca.toString().includes('CERTIFICATE'), true);
  assert.match(JSON.stringify(ok.config.cluster.etcd), /"material":\{"fingerprint":"[0-9a-f]{16}"\}/);
  assert.doesNotMatch(JSON.stringify(ok.config), /PRIVATE KEY/);

  const open = writeTls(0o644);
  writeFileSync(file, tlsConfig(open));
  const r = await check(file);
  assert.ok(!r.ok);
  assert.equal(r.error.issues[0]!.path, 'cluster.etcd.tls.key_file');
  assert.equal(r.error.issues[0]!.found, `${open.key}: mode 0644 (readable by others)`);

  writeFileSync(file, tlsConfig({ ...p, ca: join(dir, 'missing.pem') }));
  const m = await check(file);
  assert.ok(!m.ok);
  assert.equal(m.error.issues[0]!.path, 'cluster.etcd.tls.ca_file');
  assert.equal(m.error.issues[0]!.found, `${join(dir, 'missing.pem')}: ENOENT`);

  writeFileSync(p.cert, 'not a certificate\n', { mode: 0o644 });
  writeFileSync(file, tlsConfig(p));
  const n = await check(file);
  assert.ok(!n.ok);
  assert.equal(n.error.issues[0]!.expected, 'a TLS certificate file in PEM form');
});

test('a reload with a bad TLS file is rejected and the running config stays', async () => {
  const p = writeTls();
  const file = join(dir, 'reload.yaml');
  writeFileSync(file, tlsConfig(p));
  const store = new ConfigStore(await loadConfig(file));
  const before = store.current;
  writeFileSync(file, tlsConfig({ ...p, key: join(dir, 'gone-key.pem') }));
  const r = await store.reload();
  assert.equal(r.ok, false);
  assert.equal(store.current, before);
});
