// Finding why a held connection broke in the keeping scenarios, by hand (root):
//   node --import tsx lab/keeping-diagnose.ts [--held 1000] [--rounds 2] [--scenarios drain,shut,join,kill,restart]
//     [--traffic]   (drain and shut with the keeping bench's traffic in flight: a short request every 20 ms
//                    and 4 long transfers, as bench/keeping.bench.ts runs them)
// Builds the lab with three agents, then runs the keeping scenarios in order (drain h3 and back, shut
// h3's sessions and back, add h4, kill h2's service, restart h1's agent by SIGTERM and by SIGKILL),
// `rounds` times over. After each check that found
// broken connections it prints, for up to 20 of them (the holder's samples): every host's flow-table
// entry for that client port, the kernel sockets it holds for it (`ss`), and the instance each of its
// ring slots names at the flow's ring index. That is what tells a stale flow entry, a lingering socket
// of an older connection on the same ports, and a ring that names nobody else apart.

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BpfMap } from '../src/native/index.js';
import { addr16 } from '../src/steer/addr.js';
import { hashWords } from '../src/steer/hash.js';
import * as L from '../src/steer/layout.js';
import { linkBetween, SERVICE_PORTS, VIP4 } from './addressing.js';
import { LAB_RING_SIZE } from './agent-config.js';
import {
  bringUp,
  drainAndBack,
  failService,
  restartAgent,
  restoreService,
  shutSessionsAndBack,
} from './agent-steps.js';
import { HostAgents } from './agents.js';
import type { CheckReport } from './holder.js';
import { joinHost, leaveHost } from './join-steps.js';
import { buildLab, type Lab } from './topology.js';
import { Traffic } from './traffic-client.js';
import { readXdpCounters } from './xdp-counters.js';

const HASH_SEED = 0x5eed1e55;
const SERVICE_ID = 0; // the lab's one service
/** --traffic: the keeping bench's traffic in flight (bench/keeping.bench.ts defaults). */
const TRAFFIC = { target: VIP4, everyMs: 20, long: 4 };
const CLIENT4 = linkBetween('spine', 'client').b.v4; // the holder's source address
const u32 = (n: number): Buffer => Buffer.from(new Uint32Array([n]).buffer);

/** Instance ids by slot, and which are valid / local, from a host's pinned maps. */
function instanceNames(pins: string): Map<number, string> {
  const ids = BpfMap.openPinned(join(pins, 'instance_ids'));
  const instances = BpfMap.openPinned(join(pins, 'instances'));
  const out = new Map<number, string>();
  try {
    for (let slot = 0; slot < 16; slot++) {
      const id = ids.lookup(u32(slot))?.toString('latin1').replace(/\0.*$/s, '');
      if (!id) continue;
      const inst = L.decodeInstance(instances.lookup(u32(slot))!);
      const flags = `${inst.flags & L.INSTANCE_F_VALID ? '' : '(invalid)'}${inst.flags & L.INSTANCE_F_LOCAL ? '(local)' : ''}`;
      out.set(slot, `${id}${flags}`);
    }
  } finally {
    ids.close();
    instances.close();
  }
  return out;
}

function explain(lab: Lab, port: number): void {
  const key = L.encodeFlowKey({
    src: addr16(CLIENT4),
    dst: addr16(VIP4),
    sport: port,
    dport: SERVICE_PORTS.tcp,
    proto: 6,
    family: L.FAMILY_V4,
  });
  for (const h of lab.hosts) {
    const pins = join(lab.dir, 'bpffs', h);
    const names = instanceNames(pins);
    const name = (slot: number | undefined): string =>
      slot === undefined ? '-' : slot === L.INSTANCE_NONE ? 'NONE' : (names.get(slot) ?? `slot ${slot}`);
    const flows = BpfMap.openPinned(join(pins, 'flows'));
    const services = BpfMap.openPinned(join(pins, 'services'));
    const rings = BpfMap.openPinned(join(pins, 'rings'));
    try {
      const flow = flows.lookup(key);
      const entry = flow ? `${name(flow.readUInt32LE(0))} flags ${flow.readUInt32LE(4)}` : 'none';
      const active = [0, 1].map((k) => services.lookup(u32(SERVICE_ID))!.readUInt32LE(k * 4));
      const idx = hashWords(key, HASH_SEED) % LAB_RING_SIZE;
      const slots = [0, 1, 2, 3].map((s) => {
        const ring = rings.lookup(u32(SERVICE_ID * L.RING_SLOTS + s));
        const live = active.includes(s) ? '*' : '';
        return `${s}${live}=${ring ? name(ring.readUInt32LE(idx * 4)) : '-'}`;
      });
      const ss = execFileSync('ip', ['netns', 'exec', lab.ns(h), 'ss', '-tanH', 'dport', '=', `:${port}`])
        .toString()
        .trim()
        .replace(/\s+/g, ' ');
      console.log(
        `  ${h} port ${port}: flow ${entry}; rings (* live) ${slots.join(' ')}; sockets ${ss || 'none'}`,
      );
    } finally {
      flows.close();
      services.close();
      rings.close();
    }
  }
}

function show(lab: Lab, step: string, c: CheckReport): void {
  console.log(`${step}: broken ${JSON.stringify(c.broken)} ${JSON.stringify(c.reasons)}`);
  if (c.samples.length > 0)
    for (const h of lab.hosts)
      console.log(`  ${h} counters ${JSON.stringify(readXdpCounters(join(lab.dir, 'bpffs', h)))}`);
  for (const sample of c.samples) {
    console.log(` ${sample}`);
    explain(lab, Number(sample.split(' ')[1]));
  }
}

const { values } = parseArgs({
  options: {
    held: { type: 'string' },
    rounds: { type: 'string' },
    scenarios: { type: 'string' },
    traffic: { type: 'boolean' },
  },
});

/** Runs `step`, with the bench's traffic in flight through it when --traffic is given. */
async function traffic<T>(step: () => Promise<T>): Promise<T> {
  if (!values.traffic) return step();
  const t = await Traffic.start(lab, TRAFFIC);
  try {
    return await step();
  } finally {
    const r = await t.stop();
    console.log(`  traffic: ${r.requests} requests, errors ${JSON.stringify(r.errors)}, ${r.stalls} stalls`);
  }
}
const held = Number(values.held ?? 1000);
const lab = await buildLab();
try {
  const agents = new HostAgents(lab);
  await bringUp(lab, agents);
  const only = new Set((values.scenarios ?? 'drain,shut,join,kill,restart').split(','));
  for (let round = 1; round <= Number(values.rounds ?? 1); round++) {
    console.log(`== round ${round}, ${held} held`);
    if (only.has('drain')) {
      const d = await traffic(() => drainAndBack(lab, agents, 'h3', held));
      show(lab, 'drain h3, held through drain and undrain', d.afterBack.check);
      show(lab, 'undrain h3, opened while drained', d.openedWhileOut.settled.check);
    }
    if (only.has('shut')) {
      const s = await traffic(() => shutSessionsAndBack(lab, 'h3', held));
      show(lab, "h3's sessions shut and back, held through", s.afterBack.check);
      show(lab, "h3's sessions back, opened while shut", s.openedWhileOut.settled.check);
    }
    if (only.has('join')) {
      const j = await joinHost(lab, agents, 'h4', held);
      const start = agents.events('h4').filter((e) => e.event === 'xdp-attached' || e.event === 'pins-stale');
      console.log(`h4 started: ${JSON.stringify(start)}`);
      show(lab, 'add h4, at once', j.atJoin.check);
      show(lab, 'add h4, after the join grace', j.settled.check);
      await leaveHost(lab, agents, 'h4');
    }
    if (only.has('kill')) {
      const k = await failService(lab, 'h2', held);
      show(lab, "kill h2's service", k.kept.check);
      await restoreService(lab, agents, 'h2');
    }
    if (only.has('restart'))
      for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
        const r = await restartAgent(lab, agents, 'h1', sig, held);
        const started = agents
          .events('h1')
          .filter((e) => e.event === 'xdp-attached' || e.event === 'pins-stale');
        console.log(
          `h1 restarted: ${JSON.stringify(started.slice(-2).map((e) => [e.event, e.pins_age_ms]))}`,
        );
        show(lab, `restart h1's agent by ${sig}`, r.kept.check);
      }
  }
} finally {
  lab.teardown();
}
