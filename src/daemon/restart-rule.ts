// Stop for good, or stop for a restart (graceful restart as the restarting speaker, RFC 4724)?
// The rule:
// - SIGTERM (systemd's `stop` and `restart`, `kill`) is a restart when any peer has graceful restart
//   enabled and negotiated on a session that is up (else the old stop below): nothing is withdrawn, those peers' sessions close without a NOTIFICATION (they keep our
//   routes for the restart time, forwarding on), our kernel default routes and the data plane stay.
//   A peer without graceful restart gets a Cease as before. If no agent is back within the restart
//   time, the peers drop the routes by themselves.
// - SIGINT (`systemctl kill -s INT anycastd`, Ctrl-C) is a deliberate final stop: every VIP withdrawn
//   and waited for, a Cease to every peer, our default routes removed.
// A start is a restart (R bit, selection deferral) when it adopted pinned maps whose heartbeat is no
// older than the longest restart time of a graceful-restart peer: the peers may still hold our routes.
import type { Config } from '../config/types.js';

/** Does a stop on `signal` keep the routes at the peers (a restart)? */
export function stopKeepsRoutes(config: Pick<Config, 'peers'>, signal: NodeJS.Signals): boolean {
  return signal === 'SIGTERM' && config.peers.some((p) => p.gracefulRestart.enabled);
}

/** Is this start the restart of an agent whose routes the peers may still hold? */
export function startIsRestart(config: Pick<Config, 'peers'>, pinsAgeMs: number | null): boolean {
  if (pinsAgeMs === null) return false;
  const longest = Math.max(
    0,
    ...config.peers.filter((p) => p.gracefulRestart.enabled).map((p) => p.gracefulRestart.restartTimeMs),
  );
  return pinsAgeMs <= longest;
}
