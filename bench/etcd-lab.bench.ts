// Fleet mode in the lab at 1,000 held connections (lab/etcd-steps.ts): three agents on the etcd backend,
// then h4 joins with its etcd settings alone, leaves, the etcd leader is killed, h2 is cut off etcd past
// its lease TTL, every etcd member is stopped for 60 s and started again — broken held connections of
// healthy instances (right after, and once the grace and drain time passed), new connections failed.
// Beside it the plain mesh (static instance lists + long polls) on a lab of its own: h4 joining by
// editing every host's config and SIGHUP (lab/join-steps.ts), and leaving; the store faults have no mesh
// counterpart. Knobs: ANYCASTD_BENCH_FLEET_HELD (1000), ANYCASTD_BENCH_FLEET_OUTAGE_S (60).

import { HOSTS } from '../lab/addressing.js';
import { bringUp } from '../lab/agent-steps.js';
import { HostAgents } from '../lab/agents.js';
import {
  bringUpFleet,
  type FaultReport,
  faultLine,
  joinNewHost,
  killEtcdLeader,
  LAB_LEASE_TTL_S,
  partitionFromEtcd,
  removeNewHost,
  stopAllEtcd,
} from '../lab/etcd-steps.js';
import { type JoinReport, joinHost, leaveHost } from '../lab/join-steps.js';
import { buildLab } from '../lab/topology.js';
import { machineLine } from './report.js';
import type { BenchOutput } from './run.js';

const HELD = Number(process.env.ANYCASTD_BENCH_FLEET_HELD ?? 1000);
const OUTAGE_MS = Number(process.env.ANYCASTD_BENCH_FLEET_OUTAGE_S ?? 60) * 1000;
const CUT_MS = (2 * LAB_LEASE_TTL_S + 1) * 1000;
const log = (l: string): void => void process.stderr.write(`${l}\n`);

async function fleetRun(): Promise<Record<string, FaultReport>> {
  const f = await bringUpFleet(log);
  try {
    return {
      join: await joinNewHost(f, HELD),
      remove: await removeNewHost(f, HELD),
      killLeader: await killEtcdLeader(f, HELD),
      partitionH2: await partitionFromEtcd(f, HELD, 'h2', CUT_MS),
      outage: await stopAllEtcd(f, HELD, OUTAGE_MS),
    };
  } finally {
    f.lab.teardown();
  }
}

async function meshRun(): Promise<{ join: JoinReport; removeBroken: number }> {
  const lab = await buildLab({ log });
  try {
    const agents = new HostAgents(lab, { fromDist: true });
    await bringUp(lab, agents);
    const join = await joinHost(lab, agents, 'h4', HELD);
    await leaveHost(lab, agents, 'h4');
    return { join, removeBroken: Number.NaN };
  } finally {
    lab.teardown();
  }
}

export async function run(): Promise<BenchOutput> {
  const fleet = await fleetRun();
  const mesh = await meshRun();
  const lines = [
    `machine: ${machineLine()}; ${HELD} held connections, ${HOSTS.length} hosts + h4; etcd outage ${OUTAGE_MS / 1000} s`,
    ...Object.entries(fleet).map(([k, r]) => `etcd ${faultLine(k, r)}`),
    `mesh join h4 (every config edited + SIGHUP): broken healthy ${mesh.join.atJoin.brokenHealthy} then ${mesh.join.settled.brokenHealthy}; ` +
      `VIP everywhere ${Math.round(mesh.join.joinMs)} ms after addHost; new flows ${JSON.stringify(mesh.join.newFlows.counts)} failed ${mesh.join.newFlows.failures}`,
    'mesh: kill leader / partition from the store / store outage — no store (n/a)',
  ];
  return { report: lines.join('\n'), data: { held: HELD, outageMs: OUTAGE_MS, fleet, mesh } };
}
