// The in-process measures of loop.bench.ts, each beside its baseline in the same run: the Maglev build
// (the former build, test/steer/maglev-oracle.ts), the cost of one ring change on a real Dataplane (the
// former path: former build, members → slots through a Map, the write; the new one; a flip back), and
// the event loop's delay while `show flows` reads a full flow table (the former listing: one synchronous
// walk; the new one: flowsOf, chunks with the loop given back).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Steering } from '../src/agent/steering.js';
import { flowsOf } from '../src/api/dataplane-views.js';
import { parseConfig } from '../src/config/load.js';
import { addr16 } from '../src/steer/addr.js';
import { Dataplane } from '../src/steer/dataplane.js';
import {
  decodeFlowKey,
  decodeFlowVal,
  encodeFlowKey,
  encodeFlowVal,
  FAMILY_V4,
  INSTANCE_NONE,
  LAYOUTS,
  RING_KIND_NEW,
} from '../src/steer/layout.js';
import { buildMaglev, EMPTY, tableSlots } from '../src/steer/maglev.js';
import { IPPROTO_TCP } from '../src/steer/proto.js';
import { buildMaglevOracle } from '../test/steer/maglev-oracle.js';

const RING = 65537;
const VIP = '203.0.113.10';
const FLOW_BATCH = 8192;

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Median ms of `runs` calls of `f` (after two unmeasured ones). */
function timeMs(f: () => void, runs: number): number {
  f();
  f();
  const xs: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return median(xs);
}

const members = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ id: `h${i + from}/web` }));

export interface BuildFigures {
  instances: number;
  formerMs: number;
  newMs: number;
  ratio: number;
}

/** The Maglev build, new against former, medians of `runs` interleaved rounds. */
export function maglevBuild(counts: readonly number[], runs: number): BuildFigures[] {
  return counts.map((n) => {
    const m = members(n);
    const former: number[] = [];
    const now: number[] = [];
    for (let r = 0; r < runs; r++) {
      former.push(timeMs(() => buildMaglevOracle(m, RING), 1));
      now.push(timeMs(() => buildMaglev(m, RING), 1));
    }
    const f = median(former);
    const c = median(now);
    return { instances: n, formerMs: f, newMs: c, ratio: c / f };
  });
}

export interface RingChangeFigures {
  instances: number;
  /** The former path: former build, slots through a Map, the write. */
  formerMs: number;
  /** Build + slots (tableSlots) + the write (a spare slot holding another ring). */
  newMs: number;
  /** Back to the ring before: no build, the spare slot already holds it (a flip). */
  flipMs: number;
  /** The kernel write of one ring value alone. */
  writeMs: number;
  /** Entries that differ between the ring before and after one instance leaves. */
  changedEntries: number;
  ratio: number;
}

/** One membership change (one of n instances leaves) on a real Dataplane. */
export function ringChange(counts: readonly number[], runs: number): RingChangeFigures[] {
  const dp = Dataplane.open({ pin: false, host4: '198.51.100.1' });
  try {
    return counts.map((n) => {
      const all = members(n).map((m, i) => ({ ...m, host4: `198.51.100.${(i % 200) + 2}`, local: false }));
      const fewer = all.slice(1);
      const slot = new Map(all.map((m) => [m.id, dp.setInstance(m)]));
      const formerWrite = (set: typeof all) => {
        const t = buildMaglevOracle(set, RING);
        const slotOf = new Map(set.map((m) => [m.id, slot.get(m.id)!]));
        dp.writeRing(
          1,
          RING_KIND_NEW,
          t.table.map((e) => (e === EMPTY ? INSTANCE_NONE : slotOf.get(t.ids[e]!)!)),
        );
      };
      const newWrite = (set: typeof all) => {
        const t = buildMaglev(set, RING);
        return dp.writeRing(
          1,
          RING_KIND_NEW,
          tableSlots(
            t,
            t.ids.map((id) => slot.get(id)!),
            INSTANCE_NONE,
          ),
        );
      };
      // three member sets in turn: each write lands on a spare slot holding another set's ring (with two,
      // the spare would hold the same ring and the write would be a flip)
      const sets = [all, fewer, all.slice(2)];
      let k = 0;
      const formerMs = timeMs(() => formerWrite(sets[k++ % 3]!), runs);
      const newMs = timeMs(() => newWrite(sets[k++ % 3]!), runs);
      newWrite(all);
      const changedEntries = newWrite(fewer);
      const ringAll = buildMaglev(all, RING);
      const slotsAll = tableSlots(
        ringAll,
        ringAll.ids.map((id) => slot.get(id)!),
        INSTANCE_NONE,
      );
      const slotsFewer = dp.spareRing(1, RING_KIND_NEW)!; // holds `all`'s ring now
      let back = false;
      const flipMs = timeMs(() => {
        back = !back;
        dp.writeRing(1, RING_KIND_NEW, back ? slotsAll : slotsFewer);
      }, runs);
      const key = Buffer.from(new Uint32Array([4]).buffer);
      const value = Buffer.from(new Uint32Array(RING).fill(1).buffer);
      const writeMs = timeMs(() => dp.map('rings').update(key, value), runs);
      return { instances: n, formerMs, newMs, flipMs, writeMs, changedEntries, ratio: newMs / formerMs };
    });
  } finally {
    dp.close();
  }
}

/** The one-ring Steering path as the agent calls it, for a changing set (ms per change, on the loop). */
export function steeringChange(n: number, runs: number): number {
  const instances = Array.from(
    { length: n },
    (_, i) => `      - { id: h${i}, host: { ipv4: 198.51.100.${(i % 200) + 2} } }`,
  ).join('\n');
  const service = parseConfig(
    `node: { id: h0, host: { ipv4: 198.51.100.2 }, asn: 65101, uplinks: [lo] }
services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
${instances}
    checks: [{ type: tcp, port: 80 }]
`,
    '/bench/loop.yaml',
  ).services[0]!;
  const dp = Dataplane.open({ pin: false, host4: '198.51.100.2' });
  try {
    const steering = new Steering(dp);
    steering.setServices([service]);
    const ids = service.instances.map((i) => i.id);
    let k = 0;
    return timeMs(
      () =>
        steering.setRing(
          service,
          'new',
          ids.filter((_, i) => i !== k++ % n),
        ),
      runs,
    );
  } finally {
    dp.close();
  }
}

export interface LagFigures {
  /** Event-loop delay while the listing ran: p99 and max (ms), from monitorEventLoopDelay. */
  p99Ms: number;
  maxMs: number;
  /** How long the listing took (ms). */
  tookMs: number;
  total: number;
}

/** A flow table of `n` entries, filled (half of them to VIP). */
export function fullFlowTable(n: number): Dataplane {
  const dp = Dataplane.open({ pin: false, host4: '198.51.100.1', flowTableSize: n });
  const map = dp.map('flows');
  const slot = dp.setInstance({ id: 'web/h1', host4: '198.51.100.1', local: true });
  const vip = addr16(VIP);
  const other = addr16('203.0.113.11');
  for (let from = 0; from < n; from += FLOW_BATCH) {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = from; i < Math.min(n, from + FLOW_BATCH); i++) {
      const src = Buffer.alloc(16);
      src.writeUInt32BE(0xc6336400 + (i >>> 16), 0); // 198.51.100.x
      keys.push(
        encodeFlowKey({
          src,
          dst: i % 2 ? vip : other,
          sport: i & 0xffff,
          dport: 80,
          proto: IPPROTO_TCP,
          family: FAMILY_V4,
        }),
      );
      values.push(encodeFlowVal({ instance: slot, flags: 0 }));
    }
    map.updateBatch(keys, values);
  }
  return dp;
}

/** The former `show flows`: one synchronous walk of the whole table (src/api/dataplane-views.ts before). */
function formerFlowsOf(dp: Dataplane, vip: string, limit: number): number {
  const want = addr16(vip);
  const at = LAYOUTS.flow_key.fields.dst;
  let total = 0;
  const kept: unknown[] = [];
  for (const [key, value] of dp.map('flows').entries()) {
    if (key.compare(want, 0, want.length, at, at + want.length) !== 0) continue;
    const k = decodeFlowKey(key);
    if (k.family !== FAMILY_V4) continue;
    total++;
    if (kept.length < limit) kept.push({ k, v: decodeFlowVal(value) });
  }
  return total;
}

async function lagDuring(work: () => Promise<number> | number): Promise<LagFigures> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  await new Promise((r) => setTimeout(r, 20));
  h.enable();
  const t = performance.now();
  const total = await work();
  const tookMs = performance.now() - t;
  await new Promise((r) => setTimeout(r, 20)); // the timer of the last block reports its delay
  h.disable();
  return { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, tookMs, total };
}

/** `show flows` over a full table: former (one walk) and new (flowsOf), alternating, `runs` each. */
export async function showFlowsLag(
  dp: Dataplane,
  runs: number,
): Promise<{ former: LagFigures[]; new: LagFigures[] }> {
  const out = { former: [] as LagFigures[], new: [] as LagFigures[] };
  for (let r = 0; r < runs; r++) {
    out.former.push(await lagDuring(() => formerFlowsOf(dp, VIP, 1000)));
    out.new.push(await lagDuring(async () => (await flowsOf(dp, VIP, 1000)).total));
  }
  return out;
}
