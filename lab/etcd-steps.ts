// Fleet mode in the lab: the three hosts' agents on the etcd backend (lab/etcd.ts: a 3-member store on
// the management network, each host attached by its `mgmt0`), no instance list in any config, and the
// scenarios of fleet mode under held connections — h4 joins by starting its agent with the etcd settings
// and nothing else (the other hosts' configs are not touched: the report says whether their bytes
// changed), h4 leaves, the etcd leader is killed, h2 is cut off etcd (not the fabric) past its lease TTL,
// every etcd member is stopped for a while and started again. Each step holds `held` connections to the
// VIP from the client, sends short new connections during or right after the fault, and checks the held
// ones after it and again once the join grace and drain time have passed. Callers assert.

import { readFileSync } from 'node:fs';
import { HOSTS, type HostName, MGMT_HOST4, VIP4 } from './addressing.js';
import { LAB_AGENT_TIMINGS } from './agent-config.js';
import { bringUp, type KeptReport, kept, SETTLE_MS } from './agent-steps.js';
import { type AgentEvent, HostAgents } from './agents.js';
import { type EtcdCluster, startEtcdCluster } from './etcd.js';
import { sleep } from './exec.js';
import { addHost, removeHost } from './extra-host.js';
import { waitVipAt } from './fabric-checks.js';
import { Holder } from './holder-client.js';
import type { ProbeResult } from './probe.js';
import { buildLab, type Lab } from './topology.js';

/** The lab fabric's key prefix in etcd. */
export const LAB_ETCD_PREFIX = '/anycastd/lab';
/** The agents' lease TTL: the config's floor, so a cut-off host's lease expires within the scenario. */
export const LAB_LEASE_TTL_S = 3;
const MS_PER_S = 1000;
/** Short new connections sent right after each fault. */
export const FLEET_NEW_FLOWS = 100;
const NEW_HOST: HostName = 'h4';
/** Three agents starting at once on a loaded 2-core box took past the lab's default 20 s (seen at load 30). */
const AGENT_START_TIMEOUT_MS = 60_000;

export interface FleetLab {
  lab: Lab;
  agents: HostAgents;
  etcd: EtcdCluster;
}

/** The lab, the store, h1–h3 attached to it and their agents in fleet mode; resolves once the VIP is everywhere. */
export async function bringUpFleet(log: (line: string) => void): Promise<FleetLab> {
  const lab = await buildLab({ log });
  try {
    const etcd = await startEtcdCluster({ prefix: lab.prefix, dir: lab.dir, log });
    for (const h of HOSTS) etcd.attach(lab.ns(h), h, MGMT_HOST4[h]);
    const agents = new HostAgents(lab, {
      fromDist: true,
      startTimeoutMs: AGENT_START_TIMEOUT_MS,
      etcd: { endpoints: etcd.endpoints, prefix: LAB_ETCD_PREFIX, tls: etcd.tls, leaseTtlS: LAB_LEASE_TTL_S },
    });
    await bringUp(lab, agents);
    return { lab, agents, etcd };
  } catch (err) {
    lab.teardown();
    throw err;
  }
}

/** What a fault step observed. */
export interface FaultReport {
  /** The held connections right after the fault (or its cure) ... */
  after: KeptReport;
  /** ... and once the join grace and the drain time have passed. */
  settled: KeptReport;
  /** Short new connections sent during (or right after) the fault. */
  newFlows: ProbeResult;
  /** Step-specific timings (ms) and facts. */
  detail: Record<string, number | string | boolean>;
}

const settleMs = (): number =>
  Math.max(LAB_AGENT_TIMINGS.graceTimeMs, LAB_AGENT_TIMINGS.drainTimeMs) + SETTLE_MS;

/** Hold `held` connections, run `fault` (it returns its details and the new flows), check twice. */
async function underHeld(
  f: FleetLab,
  held: number,
  failed: readonly string[],
  fault: (holder: Holder) => Promise<{ newFlows: ProbeResult; detail: FaultReport['detail'] }>,
): Promise<FaultReport> {
  const holder = await Holder.start(f.lab, { count: held, target: VIP4 });
  try {
    const { newFlows, detail } = await fault(holder);
    const after = kept(holder, await holder.check(), failed);
    await sleep(settleMs());
    const settled = kept(holder, await holder.check(), failed);
    return { after, settled, newFlows, detail };
  } finally {
    await holder.stop();
  }
}

const probe = (f: FleetLab): Promise<ProbeResult> =>
  f.lab.probe({ target: VIP4, protocol: 'tcp', count: FLEET_NEW_FLOWS });

/** The other hosts' config files, byte for byte. */
function configsOf(f: FleetLab): string[] {
  return HOSTS.map((h) => readFileSync(f.agents.paths(h).config, 'utf8'));
}

/** How often a new connection is sent while waiting for h4's first one. */
const TAKE_EVERY_MS = 50;
/** From the agent's spawn (its start alone takes seconds on a loaded box); below the holder's answer bound. */
const TAKE_TIMEOUT_MS = 40_000;
/** h4's log events that time its join, in the order they come. */
const JOIN_EVENTS = {
  etcdConnectedMs: (e: AgentEvent) => e.event === 'cluster-etcd-connected',
  registeredMs: (e: AgentEvent) => e.event === 'cluster-lease-granted',
  settledMs: (e: AgentEvent) => e.event === 'service-settled',
  advertisedMs: (e: AgentEvent) => e.event === 'route-advertised' && e.reason !== 'host-address',
} as const;

/**
 * h4 joins: wired into the fabric and the management network, its service started, its agent started
 * with the etcd settings; nothing is done on h1–h3. While it starts, the holder sends a new connection
 * every 50 ms until h4 answers one. Details (ms): `takeMs` h4's agent started (XDP attached) → the first
 * new connection h4 answered; `spawnTakeMs` from the agent's process start; the steps between (etcd
 * watch connected, lease granted, checks settled, VIP advertised), each from XDP attached.
 */
export function joinNewHost(f: FleetLab, held: number): Promise<FaultReport> {
  return underHeld(f, held, [], async (holder) => {
    const before = configsOf(f);
    await addHost(f.lab, NEW_HOST);
    f.etcd.attach(f.lab.ns(NEW_HOST), NEW_HOST, MGMT_HOST4[NEW_HOST]);
    await f.agents.prepareHost(NEW_HOST);
    f.agents.writeConfig(NEW_HOST);
    const from = f.agents.events(NEW_HOST).length;
    const spawned = Date.now();
    const first = holder.first(NEW_HOST, TAKE_EVERY_MS, TAKE_TIMEOUT_MS);
    await f.agents.start(NEW_HOST);
    const taken = await first;
    if (taken.at === null)
      throw new Error(
        `${NEW_HOST} answered no new connection in ${TAKE_TIMEOUT_MS} ms: ${JSON.stringify(taken)}`,
      );
    const events = f.agents.events(NEW_HOST).slice(from);
    const at = (pred: (e: AgentEvent) => boolean): number => {
      const e = events.find(pred);
      return e && typeof e.time === 'string' ? Date.parse(e.time) : Number.NaN;
    };
    const attached = at((e) => e.event === 'xdp-attached');
    const steps = Object.fromEntries(
      Object.entries(JOIN_EVENTS).map(([k, pred]) => [k, at(pred) - attached]),
    );
    await waitVipAt(f.lab, f.lab.hosts);
    const newFlows = await probe(f);
    const othersUntouched = configsOf(f).every((c, i) => c === before[i]);
    return {
      newFlows,
      detail: {
        takeMs: taken.at - attached,
        spawnTakeMs: taken.at - spawned,
        ...steps,
        takeFailures: taken.failures,
        othersUntouched,
      },
    };
  });
}

/**
 * h4 leaves: its agent stopped — SIGTERM (it withdraws; its lease is left to expire) or SIGKILL (its
 * lease expires) — then its service, links and port removed.
 */
export function removeNewHost(
  f: FleetLab,
  held: number,
  signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<FaultReport> {
  return underHeld(f, held, [NEW_HOST], async () => {
    const t0 = performance.now();
    await f.agents.stop(NEW_HOST, signal);
    await f.lab.stopService(NEW_HOST);
    await removeHost(f.lab, NEW_HOST);
    f.etcd.net.detach(NEW_HOST);
    await waitVipAt(f.lab, HOSTS);
    const goneMs = performance.now() - t0;
    return { newFlows: await probe(f), detail: { goneMs } };
  });
}

/** The etcd leader killed (SIGKILL): another is elected; the old one is started again. */
export function killEtcdLeader(f: FleetLab, held: number): Promise<FaultReport> {
  return underHeld(f, held, [], async () => {
    const old = await f.etcd.leader();
    const t0 = performance.now();
    await f.etcd.kill(old);
    const next = await f.etcd.leader();
    const electedMs = performance.now() - t0;
    const newFlows = await probe(f);
    await f.etcd.startMember(old);
    return { newFlows, detail: { old, next, electedMs } };
  });
}

/** h2 cut off the store (its management port blocked; the fabric untouched) for `cutMs`, then healed. */
export function partitionFromEtcd(
  f: FleetLab,
  held: number,
  host: HostName,
  cutMs: number,
): Promise<FaultReport> {
  return underHeld(f, held, [], async () => {
    f.etcd.partition(host, true);
    try {
      await sleep(cutMs);
      // Past the lease TTL: the others have seen the host's registration expire.
      const newFlows = await probe(f);
      return { newFlows, detail: { cutMs, leaseTtlMs: LAB_LEASE_TTL_S * MS_PER_S } };
    } finally {
      f.etcd.partition(host, false);
    }
  });
}

/** Every etcd member stopped (SIGTERM) for `outageMs`, new connections sent meanwhile, then all started again. */
export function stopAllEtcd(f: FleetLab, held: number, outageMs: number): Promise<FaultReport> {
  return underHeld(f, held, [], async () => {
    const names = f.etcd.members.map((m) => m.name);
    for (const n of names) await f.etcd.stopMember(n);
    const t0 = performance.now();
    await sleep(outageMs / 2);
    const newFlows = await probe(f);
    await sleep(Math.max(0, outageMs - (performance.now() - t0)));
    const back = performance.now();
    for (const n of names) await f.etcd.startMember(n);
    await f.etcd.waitReady(names);
    const leader = await f.etcd.leader();
    return { newFlows, detail: { outageMs: back - t0, backMs: performance.now() - back, leader } };
  });
}

/** One line per step for logs and reports. */
export function faultLine(name: string, r: FaultReport): string {
  return (
    `${name}: broken healthy ${r.after.brokenHealthy} then ${r.settled.brokenHealthy} (own of failed ${r.settled.brokenFailed}; ` +
    `${JSON.stringify(r.settled.check.reasons)}); new flows ${JSON.stringify(r.newFlows.counts)} failed ${r.newFlows.failures}; ` +
    `${JSON.stringify(r.detail, (_k, v) => (typeof v === 'number' ? Math.round(v) : v))}`
  );
}
