// The steps of the lab with real anycastd agents, shared by `anycastd demo` (lab/demo-story.ts) and
// the end-to-end tests (test/e2e/): bring the agents up and wait for convergence; spread connections
// and see where they arrived (the agents' XDP counters) and who served them (the service's answer);
// fail a service under long-lived connections and steady new ones, timing the withdrawal; bring it
// back; drain a host and undrain it; restart an agent. Each returns what it observed; callers assert.

import { HOSTS, type HostName, VIP4 } from './addressing.js';
import { LAB_AGENT_TIMINGS } from './agent-config.js';
import type { HostAgents } from './agents.js';
import { sleep } from './exec.js';
import {
  hostDefaults,
  measureWithdrawalBy,
  type VipView,
  type WithdrawalTimes,
  waitVipAt,
} from './fabric-checks.js';
import type { CheckReport, SteadyReport } from './holder.js';
import { Holder } from './holder-client.js';
import type { Family } from './peers.js';
import type { ProbeProtocol, ProbeResult } from './probe.js';
import { setHostSessions } from './session-control.js';
import type { Lab } from './topology.js';
import { counterDelta, readXdpCounters, type XdpCounters } from './xdp-counters.js';

/** New connections opened while a host is drained (each must be served by another host). */
const NEW_WHILE_DRAINED = 150;

/** New connections during a failover: one every STEADY_EVERY_MS, STEADY_COUNT of them. */
export const STEADY_EVERY_MS = 10;
export const STEADY_COUNT = 200;

export interface UpReport {
  /** Agents started → every router-side session Established. */
  sessionsMs: number;
  /** Sessions Established → the VIP at all three hosts everywhere. */
  convergeMs: number;
  view: VipView;
  defaults: Record<HostName, Record<Family, string[]>>;
}

/** Service, XDP pieces and agents on every host; waits until the VIP is at all three hosts. */
export async function bringUp(lab: Lab, agents: HostAgents): Promise<UpReport> {
  await agents.prepare();
  const start = performance.now();
  await agents.startAll();
  await lab.waitEstablished(HOSTS, 30_000);
  const sessionsMs = performance.now() - start;
  const conv = await waitVipAt(lab, HOSTS);
  return { sessionsMs, convergeMs: conv.ms, view: conv.view, defaults: await hostDefaults(lab) };
}

export interface SpreadReport {
  probe: ProbeResult;
  /** Per host: XDP counter deltas over the probe (flowMiss ≈ connections that arrived there). */
  arrived: Record<HostName, XdpCounters>;
}

function allCounters(agents: HostAgents): Record<HostName, XdpCounters> {
  return Object.fromEntries(HOSTS.map((h) => [h, readXdpCounters(agents.paths(h).pins)])) as Record<
    HostName,
    XdpCounters
  >;
}

/** `count` short connections: who served them, and where they arrived. */
export async function spread(
  lab: Lab,
  agents: HostAgents,
  target: string,
  protocol: ProbeProtocol,
  count: number,
): Promise<SpreadReport> {
  const before = allCounters(agents);
  const probe = await lab.probe({ target, protocol, count });
  const after = allCounters(agents);
  const arrived = Object.fromEntries(HOSTS.map((h) => [h, counterDelta(before[h], after[h])])) as Record<
    HostName,
    XdpCounters
  >;
  return { probe, arrived };
}

/** Broken held connections, split by whether their instance is one of `failed`. */
export interface KeptReport {
  opened: Record<string, number>;
  check: CheckReport;
  /** Broken among connections whose instance stayed healthy (the figure that must be 0). */
  brokenHealthy: number;
  /** Broken among connections of the failed instances (they died with it). */
  brokenFailed: number;
}

export function kept(holder: Holder, check: CheckReport, failed: readonly string[]): KeptReport {
  let brokenHealthy = 0;
  let brokenFailed = 0;
  for (const [host, n] of Object.entries(check.broken)) {
    if (failed.includes(host)) brokenFailed += n;
    else brokenHealthy += n;
  }
  return { opened: holder.opened.byHost, check, brokenHealthy, brokenFailed };
}

export interface FailReport {
  withdrawal: WithdrawalTimes;
  kept: KeptReport;
  steady: SteadyReport;
}

/**
 * Hold `held` connections, kill `host`'s service (SIGKILL) while new connections arrive at a steady
 * rate, time the withdrawal at both ToRs and the spine, then check the held connections.
 */
export async function failService(
  lab: Lab,
  host: HostName,
  held: number,
  target: string = VIP4,
): Promise<FailReport> {
  const holder = await Holder.start(lab, { count: held, target });
  try {
    const steadyRun = holder.steady(STEADY_EVERY_MS, STEADY_COUNT);
    const withdrawal = await measureWithdrawalBy(lab, host, () => lab.stopService(host, 'SIGKILL'));
    const steady = await steadyRun;
    await waitVipAt(
      lab,
      HOSTS.filter((h) => h !== host),
    );
    const check = await holder.check();
    return { withdrawal, kept: kept(holder, check, [host]), steady };
  } finally {
    await holder.stop();
  }
}

/** Start `host`'s service again; resolves with the time until the VIP is at every host. */
export async function restoreService(lab: Lab, agents: HostAgents, host: HostName): Promise<number> {
  const start = performance.now();
  await agents.startService(host);
  await waitVipAt(lab, HOSTS);
  return performance.now() - start;
}

export interface DrainReport {
  /** How the drain was asked for: `anycastd drain` over the control socket, or the drain file. */
  via: 'api' | 'file';
  /** Drain file written → the host gone from both ToRs and the spine. */
  withdrawal: WithdrawalTimes;
  /** Drain file removed → the VIP at every host again (ms). */
  backMs: number;
  afterDrain: KeptReport;
  /** New connections while drained, by serving host: the drained one must get none, wherever they land. */
  newWhileDrained: ProbeResult;
  /** The connections held since before the drain, checked again after the undrain. */
  afterBack: KeptReport;
  /** Connections opened while drained (none on `host`): the undrain's own figure (ECMP moves some to it). */
  openedWhileOut: ReturnReport;
}

/** Connections opened while a host was out, checked when it is back and once the join grace has passed. */
export interface ReturnReport {
  atBack: KeptReport;
  settled: KeptReport;
}

/** Margin past the join grace before a settled check (ms). */
export const SETTLE_MS = 1_000;

/**
 * Open `held` connections now (while a host is out), run `back` (which brings it back and resolves once
 * the VIP is everywhere), then check them at once and after the join grace (the returning instance enters
 * the `established` rings only then). `failed` hosts' connections are counted apart.
 */
async function heldThroughReturn(
  lab: Lab,
  held: number,
  failed: readonly string[],
  back: () => Promise<void>,
  target: string,
): Promise<ReturnReport> {
  const holder = await Holder.start(lab, { count: held, target });
  try {
    await back();
    const atBack = kept(holder, await holder.check(), failed);
    await sleep(LAB_AGENT_TIMINGS.graceTimeMs + SETTLE_MS);
    const settled = kept(holder, await holder.check(), failed);
    return { atBack, settled };
  } finally {
    await holder.stop();
  }
}

/**
 * Hold `held` connections, drain `host`, check them, open `held` more while it is drained, undrain it,
 * check both sets (the second also after the join grace).
 */
export async function drainAndBack(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  held: number,
  target: string = VIP4,
): Promise<DrainReport> {
  const holder = await Holder.start(lab, { count: held, target });
  try {
    let via: DrainReport['via'] = 'file';
    const withdrawal = await measureWithdrawalBy(lab, host, async () => {
      via = await agents.setDrained(host, true);
    });
    await waitVipAt(
      lab,
      HOSTS.filter((h) => h !== host),
    );
    const afterDrain = kept(holder, await holder.check(), []);
    const newWhileDrained = await lab.probe({ target, count: NEW_WHILE_DRAINED });
    let backMs = 0;
    const openedWhileOut = await heldThroughReturn(
      lab,
      held,
      [],
      async () => {
        const start = performance.now();
        await agents.setDrained(host, false);
        await waitVipAt(lab, HOSTS);
        backMs = performance.now() - start;
      },
      target,
    );
    const afterBack = kept(holder, await holder.check(), []);
    return { via, withdrawal, backMs, afterDrain, newWhileDrained, afterBack, openedWhileOut };
  } finally {
    await holder.stop();
  }
}

export interface RestartReport {
  /** Stop signal sent → the agent started again and the VIP at every host (ms). */
  backMs: number;
  kept: KeptReport;
  /** Pinned maps the restarted agent adopted (from its `xdp-attached` line). */
  adopted: string[];
  /** XDP program ids on the uplinks before and after (the attached program is replaced, never absent). */
  progBefore: (number | null)[];
  progAfter: (number | null)[];
}

/** Hold `held` connections, stop `host`'s agent with `sig`, start it again, check them. */
export async function restartAgent(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  sig: NodeJS.Signals,
  held: number,
): Promise<RestartReport> {
  const holder = await Holder.start(lab, { count: held, target: VIP4 });
  try {
    const progBefore = agents.xdpProgIds(host);
    const start = performance.now();
    await agents.stop(host, sig);
    const from = agents.events(host).length;
    await agents.start(host);
    await waitVipAt(lab, HOSTS);
    const backMs = performance.now() - start;
    const attached = agents
      .events(host)
      .slice(from)
      .find((e) => e.event === 'xdp-attached');
    const check = await holder.check();
    return {
      backMs,
      kept: kept(holder, check, []),
      adopted: attached?.adopted ?? [],
      progBefore,
      progAfter: agents.xdpProgIds(host),
    };
  } finally {
    await holder.stop();
  }
}

/** Hold `held` connections, drain `host` and undrain it, with every agent's XDP detached (plain ECMP). */
export async function baselineDrain(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  held: number,
): Promise<DrainReport> {
  for (const h of HOSTS) agents.detachXdp(h);
  return drainAndBack(lab, agents, host, held);
}

export interface ShutReport {
  /** Sessions shut at both ToRs → the host gone from both ToRs' FIBs and the spine. */
  withdrawal: WithdrawalTimes;
  /** Sessions re-enabled → Established and the VIP at every host again (ms). */
  backMs: number;
  /** `host` is counted as failed: without its sessions it has no route out, so its own flows cannot be served. */
  afterShut: KeptReport;
  afterBack: KeptReport;
  /** Connections opened while the sessions were shut (none reach `host`): the return's own figure. */
  openedWhileOut: ReturnReport;
}

/**
 * Hold `held` connections, shut `host`'s BGP sessions at both ToRs (its agent, service and XDP keep
 * running; ECMP moves), check them, open `held` more while shut, re-enable the sessions (ECMP moves
 * back), check both sets (the second also after the join grace).
 */
export async function shutSessionsAndBack(
  lab: Lab,
  host: HostName,
  held: number,
  target: string = VIP4,
): Promise<ShutReport> {
  const holder = await Holder.start(lab, { count: held, target });
  try {
    const withdrawal = await measureWithdrawalBy(lab, host, () => setHostSessions(lab, host, false));
    await waitVipAt(
      lab,
      HOSTS.filter((h) => h !== host),
    );
    const afterShut = kept(holder, await holder.check(), [host]);
    let backMs = 0;
    const openedWhileOut = await heldThroughReturn(
      lab,
      held,
      [host],
      async () => {
        const start = performance.now();
        await setHostSessions(lab, host, true);
        await lab.waitEstablished(HOSTS);
        await waitVipAt(lab, HOSTS);
        backMs = performance.now() - start;
      },
      target,
    );
    const afterBack = kept(holder, await holder.check(), [host]);
    return { withdrawal, backMs, afterShut, afterBack, openedWhileOut };
  } finally {
    await holder.stop();
  }
}
