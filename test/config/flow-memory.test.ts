// check's flow-table memory estimate (src/config/flow-memory.ts): a table larger than MemAvailable or
// than the free memory of the process's memory cgroup (v1 and v2 files) is refused, one that fits is not,
// none is asked of a host without XDP; rings that do not fit beside it are refused too. (What the kernel itself refuses: test/steer/flow-table-size.root.test.ts.)
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  DEFAULT_FLOW_TABLE_SIZE,
  flowTableBytes,
  flowTableIssues,
  readMemoryFacts,
  ringMemoryIssues,
} from '../../src/config/flow-memory.js';
import { ringsBytes } from '../../src/config/limits.js';
import type { Config } from '../../src/config/types.js';

const MIB = 2 ** 20;
const cfg = (flowTableSize: number, mode: 'xdp' | 'none' = 'xdp'): Config =>
  ({ dataplane: { mode, flowTableSize } }) as Config;

test('the default table is 1 Mi entries, ~112 MiB', () => {
  assert.equal(DEFAULT_FLOW_TABLE_SIZE, 1 << 20);
  assert.equal(Math.round(flowTableBytes(DEFAULT_FLOW_TABLE_SIZE) / MIB), 112);
});

test('a table larger than MemAvailable or the cgroup headroom is refused, naming both sizes', () => {
  const fits = { availableBytes: 200 * MIB, cgroupFreeBytes: null };
  assert.deepEqual(flowTableIssues(cfg(1 << 20), fits), []);
  const [issue, ...rest] = flowTableIssues(cfg(1 << 20), {
    availableBytes: 100 * MIB,
    cgroupFreeBytes: null,
  });
  assert.deepEqual(rest, []);
  assert.deepEqual(issue!.path, ['dataplane', 'flow_table_size']);
  assert.match(issue!.expected, /1048576 entries need ~113 MiB .* MemAvailable \(100 MiB\)/);
  const both = flowTableIssues(cfg(1 << 22), { availableBytes: 300 * MIB, cgroupFreeBytes: 50 * MIB });
  assert.equal(both.length, 2);
  assert.deepEqual(flowTableIssues(cfg(1 << 24, 'none'), { availableBytes: 1, cgroupFreeBytes: 1 }), []);
});

test('memory facts from /proc/meminfo and the cgroup files, v1 and v2; "max" and v1 unlimited are no limit', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-flowmem-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const meminfo = join(dir, 'meminfo');
  writeFileSync(meminfo, 'MemTotal:       24684544 kB\nMemAvailable:    2048 kB\n');
  const files = (procCgroup: string) => {
    writeFileSync(join(dir, 'cgroup'), procCgroup);
    return { cgroupRoot: join(dir, 'cg'), meminfo, procCgroup: join(dir, 'cgroup') };
  };
  mkdirSync(join(dir, 'cg/svc'), { recursive: true });
  writeFileSync(join(dir, 'cg/svc/memory.max'), `${64 * MIB}\n`);
  writeFileSync(join(dir, 'cg/svc/memory.current'), `${16 * MIB}\n`);
  assert.deepEqual(readMemoryFacts(files('0::/svc\n')), {
    availableBytes: 2 * MIB,
    cgroupFreeBytes: 48 * MIB,
  });
  writeFileSync(join(dir, 'cg/svc/memory.max'), 'max\n');
  assert.equal(readMemoryFacts(files('0::/svc\n')).cgroupFreeBytes, null);
  mkdirSync(join(dir, 'cg/memory/unit'), { recursive: true });
  writeFileSync(join(dir, 'cg/memory/unit/memory.limit_in_bytes'), `${32 * MIB}\n`);
  writeFileSync(join(dir, 'cg/memory/unit/memory.usage_in_bytes'), `${8 * MIB}\n`);
  assert.equal(readMemoryFacts(files('5:cpu:/\n4:memory:/unit\n0::/\n')).cgroupFreeBytes, 24 * MIB);
  writeFileSync(join(dir, 'cg/memory/unit/memory.limit_in_bytes'), '9223372036854771712\n');
  assert.equal(readMemoryFacts(files('4:memory:/unit\n')).cgroupFreeBytes, null);
});

test('rings that do not fit beside the flow table are refused, naming the services, the ring size and the memory', () => {
  const rings = (services: number, ringSize: number, maxServices: number | null = null): Config =>
    ({
      dataplane: { mode: 'xdp', flowTableSize: 1 << 17, ringSize, maxServices },
      services: new Array(services).fill({}),
    }) as Config;
  const facts = { availableBytes: 512 * MIB, cgroupFreeBytes: null };
  assert.equal(ringsBytes(1024, 65_537), 1024 * 4 * 262_152, '1 MiB per service at 65,537');
  assert.equal(ringsBytes(1024, 1021), 1024 * 4 * 4088, '16 KiB per service at 1,021');
  assert.deepEqual(ringMemoryIssues(rings(1000, 1021), facts), [], '1,000 small services fit');
  const [issue, ...rest] = ringMemoryIssues(rings(1000, 65_537), facts);
  assert.deepEqual(rest, []);
  assert.deepEqual(issue!.path, ['dataplane', 'max_services']);
  assert.equal(issue!.found, '1024', 'the room: 1,000 rounded up');
  assert.match(
    issue!.expected,
    /1024 services × 4 rings of 65537 entries need ~1025 MiB \(1025 KiB per service/,
  );
  assert.match(issue!.expected, /MemAvailable \(512 MiB\)/);
  assert.equal(
    ringMemoryIssues(rings(10, 65_537, 600), facts).length,
    1,
    'max_services counts, not the services',
  );
});
