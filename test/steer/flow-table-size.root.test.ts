// dataplane.flow_table_size: the flow table has the configured number of entries; pins of another size
// are migrated with their flows (grown, or shrunk keeping what fits); a table the kernel cannot allocate
// is refused at load with ERR_FLOW_TABLE — shown in a memory cgroup whose limit it exceeds, where
// `check`'s estimate (flowTableIssues) refuses it too — and a table that fits there loads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { projectRoot } from '../../src/native/index.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import * as L from '../../src/steer/layout.js';
import { HOST4, HOST6, MTU } from './setup.js';

const host = { host4: HOST4, host6: HOST6, mtu: MTU };
const CGROUP_V1 = '/sys/fs/cgroup/memory';
const CHILD = join(projectRoot(), 'test/steer/flow-table-child.ts');
const CGROUP_LIMIT = 112 * 2 ** 20; // below a 1 Mi-entry table alone (~113 MiB); the node child (~40 MiB), the other maps (~17 MiB) and a 128 Ki-entry table (~14 MiB) fit

/** n distinct flow keys and one value. */
function flows(n: number): { keys: Buffer[]; val: Buffer } {
  const keys = Array.from({ length: n }, (_, i) =>
    L.encodeFlowKey({
      src: Buffer.from([203, 0, 113, i >> 16, ...new Array(12).fill(0)]),
      dst: Buffer.from([192, 0, 2, 10, ...new Array(12).fill(0)]),
      sport: i & 0xffff,
      dport: 80,
      proto: 6,
      family: 4,
    }),
  );
  return { keys, val: L.encodeFlowVal({ instance: 0, flags: 0 }) };
}

test('the flow table has the configured size, at the bounds too; outside them it is refused', () => {
  for (const n of [L.MIN_FLOW_TABLE, 5000]) {
    const dp = Dataplane.open({ pin: false, flowTableSize: n, ...host });
    try {
      assert.equal(dp.map('flows').maxEntries, n);
    } finally {
      dp.close();
    }
  }
  for (const n of [L.MIN_FLOW_TABLE - 1, L.MAX_FLOW_TABLE + 1, 1.5])
    assert.throws(
      () => Dataplane.open({ pin: false, flowTableSize: n, ...host }),
      (e: Error & { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT' && e.message.includes(String(n)),
    );
  const dp = Dataplane.open({ pin: false, ...host });
  try {
    assert.equal(dp.map('flows').maxEntries, L.MAX_FLOWS, 'none given: the object default');
  } finally {
    dp.close();
  }
});

test('pins of another flow-table size are migrated with their flows: grown, then shrunk keeping what fits', (t) => {
  const pinDir = `/sys/fs/bpf/${uniquePrefix('dpflow')}size`;
  t.after(() => rmSync(pinDir, { recursive: true, force: true }));
  const first = Dataplane.open({ pinDir, flowTableSize: 4096, ...host });
  const { keys, val } = flows(3000);
  first.map('flows').updateBatch(
    keys,
    keys.map(() => val),
  );
  first.close();

  const grown = Dataplane.open({ pinDir, flowTableSize: 16384, ...host });
  try {
    assert.deepEqual(grown.migrated, ['flows']);
    assert.equal(grown.map('flows').maxEntries, 16384);
    assert.equal(grown.map('flows').count(), 3000, 'every flow copied');
    grown.finishUpgrade();
  } finally {
    grown.close();
  }
  const again = Dataplane.open({ pinDir, flowTableSize: 16384, ...host });
  try {
    assert.deepEqual(again.migrated, [], 'the pin is the new size now: adopted');
    assert.equal(again.map('flows').count(), 3000);
  } finally {
    again.close();
  }
  const shrunk = Dataplane.open({ pinDir, flowTableSize: 2048, ...host });
  try {
    assert.deepEqual(shrunk.migrated, ['flows']);
    const kept = shrunk.map('flows').count();
    assert.ok(kept > 1024 && kept <= 2048, `a smaller table keeps what fits (${kept})`);
    shrunk.finishUpgrade();
  } finally {
    shrunk.close();
  }
});

/** Runs the child (flow-table-child.ts) in a v1 memory cgroup limited to CGROUP_LIMIT: its JSON line. */
function inCgroup(t: { after: (f: () => void) => void }, entries: number): { load: string; check: string[] } {
  const cg = join(CGROUP_V1, `${uniquePrefix('dpflow')}mem${entries}`);
  mkdirSync(cg);
  t.after(() => rmdirSync(cg));
  writeFileSync(join(cg, 'memory.limit_in_bytes'), String(CGROUP_LIMIT));
  const r = spawnSync(
    'sh',
    ['-c', `echo $$ > ${join(cg, 'cgroup.procs')} && exec node --import tsx ${CHILD} ${entries}`],
    { encoding: 'utf8', cwd: projectRoot() },
  );
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

test('a table the kernel cannot allocate (a memory cgroup of 112 MiB) is refused at load and by check', (t) => {
  const big = inCgroup(t, 1 << 20);
  assert.equal(big.load, 'ERR_FLOW_TABLE', 'the kernel refused 1 Mi entries (ENOMEM), named');
  assert.equal(big.check.length, 1, 'check says so first');
  assert.match(big.check[0]!, /1048576 entries need ~113 MiB .* memory cgroup \(\d+ MiB\)/);
  const small = inCgroup(t, L.MAX_FLOWS);
  assert.equal(small.load, 'ok', '128 Ki entries (~14 MiB) fit');
  assert.deepEqual(small.check, []);
});
