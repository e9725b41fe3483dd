// Before the checks start, wait (bounded) until a peer is Established and has given this host an accepted
// route (the default): checks of remote instances need a way out. Checks that fail only because this host
// has no route yet settle the remote instances as down; after a restart the agent then advertised its VIP
// with a ring of itself alone (~0.5 s, until the remote checks rose) and answered the other hosts' flows
// that reached it with RSTs (found in the lab: test/e2e/connections.test.ts).
import type { LogSink } from '../agent/log.js';
import { makeRecord } from '../agent/log.js';
import type { AnnouncerHandle } from '../bgp/announcer.js';
import { type Clock, sleep } from '../clock.js';
import type { Config } from '../config/types.js';

/** Bound on holding the checks back until a peer has given this host a route. */
export const ROUTED_WAIT_MS = 5000;
const ROUTED_POLL_MS = 20;

export async function untilRouted(
  config: Config,
  bgp: AnnouncerHandle,
  sink: LogSink,
  clock: Clock,
): Promise<void> {
  const peers = bgp.peers;
  if (!peers || config.peers.length === 0) return;
  const start = clock.now();
  const routed = (): boolean => peers().some((p) => p.state === 'established' && p.prefixesAccepted > 0);
  while (!routed() && clock.now() - start < ROUTED_WAIT_MS) await sleep(clock, ROUTED_POLL_MS);
  sink(
    makeRecord('info', 'routes-ready', {
      reason: routed() ? 'peer-route-accepted' : 'timeout',
      ms: Math.round(clock.now() - start),
    }),
  );
}
