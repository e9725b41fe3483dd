// One agent restart (SIGTERM, start again) of a host under held connections, watched at the ToRs: the
// VIP's route in each ToR's FIB is followed by `ip -ts monitor route` from the stop until the VIP is at
// every host again, so any change counts, however short. With the ToRs as graceful restart helpers
// (buildLab({gracefulRestart: true}), RFC 4724) the aim is no change at all; without, the host leaves
// and comes back. Used by test/e2e/graceful-restart.test.ts and bench/graceful-restart.bench.ts.

import { join } from 'node:path';
import { HOSTS, type HostName, VIP4 } from './addressing.js';
import { restartAgent } from './agent-steps.js';
import type { HostAgents } from './agents.js';
import { RouteWatch, wallNow } from './route-watch.js';
import type { Lab } from './topology.js';

const TORS = ['tor1', 'tor2'] as const;

export interface WatchedRestart {
  /** Events on the VIP's route in each ToR's FIB between the stop and the VIP back at every host. */
  fibChanges: Record<(typeof TORS)[number], number>;
  /** Held connections broken, any instance. */
  broken: number;
  held: number;
  /** SIGTERM → the VIP at every host again (ms). */
  backMs: number;
}

export async function watchedRestart(
  lab: Lab,
  agents: HostAgents,
  host: HostName,
  held: number,
): Promise<WatchedRestart> {
  const watches = await Promise.all(
    TORS.map((t) => RouteWatch.start(lab.procs, lab.ns(t), join(lab.dir, t))),
  );
  try {
    const from = wallNow();
    const r = await restartAgent(lab, agents, host, 'SIGTERM', held);
    const to = wallNow();
    const changes = watches.map(
      (w) => w.events.filter((e) => e.at >= from && e.at <= to && e.line.includes(VIP4)).length,
    );
    return {
      fibChanges: { tor1: changes[0] ?? 0, tor2: changes[1] ?? 0 },
      broken: HOSTS.reduce((n, h) => n + (r.kept.check.broken[h] ?? 0), 0),
      held,
      backMs: Math.round(r.backMs),
    };
  } finally {
    await Promise.all(watches.map((w) => w.stop()));
  }
}
