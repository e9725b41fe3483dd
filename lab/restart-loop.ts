// Restarting one host's agent again and again under held connections (root, the lab with three agents):
// each round drains a host and undrains it (the agents' rings move and come back), then stops the
// restarting host's agent — SIGTERM and SIGKILL alternating — starts it again, waits until the VIP is at
// every host and checks two sets of connections: `held` opened at the start of the loop and held through
// every round, and `held` more opened right before that round's stop (the connections the restart is most
// likely to break: their segments meet the outage). Every broken connection counts, whichever instance
// served it: a restart must break none. Used by test/e2e/restart-loop.test.ts (make test, ≥ 20 restarts)
// and bench/restart.bench.ts (100 restarts, 1,000 held).

import { HOSTS, type HostName, VIP4 } from './addressing.js';
import type { HostAgents } from './agents.js';
import { waitVipAt } from './fabric-checks.js';
import type { CheckReport } from './holder.js';
import { Holder } from './holder-client.js';
import type { Lab } from './topology.js';

/** The two ways an agent is stopped, alternating round by round. */
export const RESTART_SIGNALS = ['SIGTERM', 'SIGKILL'] as const;
export type RestartSignal = (typeof RESTART_SIGNALS)[number];

export interface RestartLoopOptions {
  /** Rounds (one restart each). */
  restarts: number;
  /** Connections in each of the two sets. */
  held: number;
  /** The host whose agent restarts. */
  host: HostName;
  /** Hosts drained and undrained before each restart, in turn. */
  drainHosts: readonly HostName[];
  /** Called after each round with its figures (progress lines). */
  onRound?: (r: RestartRound) => void;
}

export interface RestartRound {
  round: number;
  signal: RestartSignal;
  drained: HostName;
  /** Stop signal sent → the VIP at every host again (ms). */
  backMs: number;
  /** Broken (any instance) among the connections opened right before this round's stop. */
  brokenFresh: number;
  /** Broken so far (any instance) among the connections held since the loop started. */
  brokenHeld: number;
  /** Samples of broken connections: "<instance> <client port> <why>". */
  samples: string[];
}

export interface RestartLoopReport {
  rounds: RestartRound[];
  /** Broken connections per restart kind, both sets. */
  brokenBySignal: Record<RestartSignal, number>;
  restartsBySignal: Record<RestartSignal, number>;
  /** Connections held through the whole loop, and how many of them broke. */
  heldThrough: { opened: number; broken: number };
  /** Connections opened right before a stop, over all rounds, and how many broke. */
  fresh: { opened: number; broken: number };
}

const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);
/** Every broken connection of a check, whichever instance served it. */
const broken = (c: CheckReport): number => total(c.broken);

/** Drain `host` and undrain it; resolves once the VIP is at every host again. */
async function drainAndUndrain(lab: Lab, agents: HostAgents, host: HostName): Promise<void> {
  await agents.setDrained(host, true);
  await waitVipAt(
    lab,
    HOSTS.filter((h) => h !== host),
  );
  await agents.setDrained(host, false);
  await waitVipAt(lab, HOSTS);
}

/** Stop `host`'s agent with `sig` and start it again; resolves once the VIP is at every host (ms taken). */
async function restartOnce(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  sig: RestartSignal,
): Promise<number> {
  const start = performance.now();
  await agents.stop(host, sig);
  await agents.start(host);
  await waitVipAt(lab, HOSTS);
  return performance.now() - start;
}

export async function restartLoop(
  lab: Lab,
  agents: HostAgents,
  o: RestartLoopOptions,
): Promise<RestartLoopReport> {
  const rounds: RestartRound[] = [];
  const brokenBySignal: Record<RestartSignal, number> = { SIGTERM: 0, SIGKILL: 0 };
  const restartsBySignal: Record<RestartSignal, number> = { SIGTERM: 0, SIGKILL: 0 };
  let freshOpened = 0;
  let freshBroken = 0;
  let heldBroken = 0;
  const through = await Holder.start(lab, { count: o.held, target: VIP4 });
  try {
    for (let round = 1; round <= o.restarts; round++) {
      const signal = RESTART_SIGNALS[(round - 1) % RESTART_SIGNALS.length]!;
      const drained = o.drainHosts[(round - 1) % o.drainHosts.length]!;
      await drainAndUndrain(lab, agents, drained);
      const fresh = await Holder.start(lab, { count: o.held, target: VIP4 });
      try {
        const backMs = await restartOnce(lab, agents, o.host, signal);
        const [freshCheck, heldCheck] = await Promise.all([fresh.check(), through.check()]);
        const brokenFresh = broken(freshCheck);
        const brokenHeld = broken(heldCheck);
        const newlyHeld = brokenHeld - heldBroken;
        heldBroken = brokenHeld;
        freshOpened += total(fresh.opened.byHost);
        freshBroken += brokenFresh;
        brokenBySignal[signal] += brokenFresh + newlyHeld;
        restartsBySignal[signal]++;
        const r: RestartRound = {
          round,
          signal,
          drained,
          backMs,
          brokenFresh,
          brokenHeld,
          samples: [...freshCheck.samples, ...heldCheck.samples].slice(0, 10),
        };
        rounds.push(r);
        o.onRound?.(r);
      } finally {
        await fresh.stop();
      }
    }
  } finally {
    await through.stop();
  }
  return {
    rounds,
    brokenBySignal,
    restartsBySignal,
    heldThrough: { opened: total(through.opened.byHost), broken: heldBroken },
    fresh: { opened: freshOpened, broken: freshBroken },
  };
}
