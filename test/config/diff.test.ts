import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { diffConfig } from '../../src/config/diff.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigStore } from '../../src/config/reload.js';
import { BASE, variant } from './fixtures.js';

const parse = (text: string) => parseConfig(text, 'a.yaml');

const SECOND_SERVICE = `  - name: dns
    vips: [203.0.113.53]
    ports: [{ protocol: udp, port: 53 }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
    checks:
      - { type: udp, port: 53, send: ping, expect: pong }
dataplane:`;
const TWO = variant('dataplane:', SECOND_SERVICE);

test('identical configs give an empty diff', () => {
  const d = diffConfig(parse(TWO), parse(TWO));
  assert.equal(d.empty, true);
  assert.deepEqual([d.services.changed, d.peers.changed, d.node, d.dataplane], [[], [], [], []]);
});

test('a weight change is a ring change of that service only', () => {
  const d = diffConfig(parse(TWO), parse(variant('weight: 2', 'weight: 3', TWO)));
  assert.equal(d.empty, false);
  assert.deepEqual(
    d.services.changed.map((c) => [c.name, c.fields, c.ringChanged, c.checksChanged]),
    [['web', ['instances'], true, false]],
  );
  assert.deepEqual([d.services.added, d.services.removed, d.peers.changed], [[], [], []]);
});

test('reordering instances in the file changes nothing (rings sort by id)', () => {
  const swapped = variant(
    '      - { id: h1, host: { ipv4: 192.0.2.11 } }\n      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }\n',
    '      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }\n      - { id: h1, host: { ipv4: 192.0.2.11 } }\n',
  );
  assert.equal(diffConfig(parse(BASE), parse(swapped)).empty, true);
});

test('a check change restarts checks but keeps the ring', () => {
  const d = diffConfig(parse(TWO), parse(variant('interval: 1s', 'interval: 2s', TWO)));
  assert.deepEqual(
    d.services.changed.map((c) => [c.name, c.fields, c.ringChanged, c.checksChanged]),
    [['web', ['checks'], false, true]],
  );
});

test('on_down and drain changes touch neither ring nor checks', () => {
  const next = variant(
    '    checks:\n      - type: tcp',
    '    drain_time: 5s\n    checks:\n      - type: tcp',
    TWO,
  );
  const d = diffConfig(parse(TWO), parse(next));
  assert.deepEqual(
    d.services.changed.map((c) => [c.name, c.fields, c.ringChanged, c.checksChanged]),
    [['web', ['drainTimeMs'], false, false]],
  );
});

test('services added and removed by name', () => {
  const d = diffConfig(parse(BASE), parse(TWO));
  assert.deepEqual(
    d.services.added.map((s) => s.name),
    ['dns'],
  );
  const back = diffConfig(parse(TWO), parse(BASE));
  assert.deepEqual(
    back.services.removed.map((s) => s.name),
    ['dns'],
  );
  assert.deepEqual(back.services.changed, []);
});

test('peer changes: policy only needs no session reset, timers do; add and remove', () => {
  const policy = variant(
    '      hold_time: 9s\n',
    '      hold_time: 9s\n      export: { communities: ["65000:1"] }\n',
  );
  const d1 = diffConfig(parse(BASE), parse(policy));
  assert.deepEqual(
    d1.peers.changed.map((c) => [c.name, c.fields, c.resetSession]),
    [['tor1', ['exportCommunities'], false]],
  );
  const d2 = diffConfig(parse(BASE), parse(variant('hold_time: 9s', 'hold_time: 30s')));
  assert.deepEqual(
    d2.peers.changed.map((c) => [c.name, c.fields.sort(), c.resetSession]),
    [['tor1', ['holdTimeMs', 'keepaliveMs'], true]],
  );
  const more = variant('services:', '    - { address: 198.51.100.2, remote_asn: 65002 }\nservices:');
  const d3 = diffConfig(parse(BASE), parse(more));
  assert.deepEqual(
    d3.peers.added.map((p) => p.name),
    ['198.51.100.2'],
  );
  assert.deepEqual(d3.peers.changed, []);
  assert.deepEqual(
    diffConfig(parse(more), parse(BASE)).peers.removed.map((p) => p.name),
    ['198.51.100.2'],
  );
});

test('node and dataplane changes are listed by field', () => {
  const d = diffConfig(parse(BASE), parse(variant('ring_size: 65537', 'ring_size: 131071')));
  assert.deepEqual(d.dataplane, ['ringSize']);
  const n = diffConfig(parse(BASE), parse(variant('uplinks: [eth0]', 'uplinks: [eth0, eth1]')));
  assert.deepEqual(n.node, ['uplinks']);
});

test('reload: a bad file is rejected whole and the running config keeps running; a good one swaps in', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-config-'));
  const file = join(dir, 'anycastd.yaml');
  writeFileSync(file, BASE);
  const store = new ConfigStore(parse(BASE));
  const before = store.current;

  // The weight change is valid, the port is not: nothing of the file may be applied.
  writeFileSync(file, variant('weight: 2', 'weight: 3', variant('port: 80 }', 'port: 0 }')));
  const bad = await store.reload(file);
  assert.equal(bad.ok, false);
  assert.ok(!bad.ok);
  assert.equal(bad.error.code, 'ERR_CONFIG');
  assert.equal(
    bad.error.message,
    `${file}:15:36: services[0].ports[0].port: expected a number >= 1, found 0`,
  );
  assert.equal(store.current, before);
  assert.equal(store.current.services[0]!.instances[1]!.weight, 2);

  writeFileSync(file, variant('weight: 2', 'weight: 3'));
  const good = await store.reload(file);
  assert.ok(good.ok);
  assert.equal(store.current.services[0]!.instances[1]!.weight, 3);
  assert.equal(store.current.file, file);
  assert.deepEqual(
    good.diff.services.changed.map((c) => c.name),
    ['web'],
  );
  assert.deepEqual(good.diff.peers, { added: [], removed: [], changed: [] });

  // A reload of the same file from the running config's own path is empty.
  const again = await store.reload();
  assert.ok(again.ok);
  assert.equal(again.diff.empty, true);
});
