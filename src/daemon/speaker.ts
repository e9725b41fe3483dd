// The production RouteAnnouncer: the BGP speaker of src/bgp started with its kernel side (the default
// route writer and the interface lookups of unnumbered peers over its own rtnetlink socket), its
// structured events going to the agent's log sink (a session leaving Established and the speaker's
// failures at level warn, the rest info; `bgp-peer-state` carries from, to and the reason). Its timers run
// on the daemon's clock. Beside it, the peers' liveness outside BGP (liveness.ts: BFD, link state) takes
// an unreachable peer out of the speaker's default routes at once; a reload reaches both. `restarting`:
// this start found the previous agent's forwarding state (RFC 4724 R bit, selection deferral);
// close({restart}) leaves graceful-restart peers keeping our routes.

import { type Level, type LogSink, makeRecord } from '../agent/log.js';
import type { AnnouncerHandle, PeerApplier, RouteAnnouncer } from '../bgp/announcer.js';
import { BgpSpeaker } from '../bgp/speaker.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';
import { PeerLiveness } from './liveness.js';

export async function startSpeaker(
  config: Config,
  sink: LogSink,
  clock: Clock,
  start: { restarting?: boolean } = {},
): Promise<AnnouncerHandle> {
  const log = (event: string, fields: Record<string, unknown>): void =>
    sink(makeRecord(levelOf(event, fields), event, fields));
  const speaker = await BgpSpeaker.startWithKernel(config, {
    log,
    clock,
    restarting: start.restarting ?? false,
  });
  let liveness: PeerLiveness;
  try {
    liveness = new PeerLiveness(config.peers, speaker, { clock, log });
  } catch (err) {
    speaker.stop();
    throw err;
  }
  const announcer: RouteAnnouncer & PeerApplier = {
    advertise: (prefix, attrs) => speaker.advertise(prefix, attrs),
    withdraw: (prefix) => speaker.withdraw(prefix),
    flushed: (timeoutMs) => speaker.flushed(timeoutMs),
    releaseEndOfRib: () => speaker.releaseEndOfRib(),
    applyPeers: (peers) => {
      speaker.applyPeers(peers);
      liveness.apply(peers);
    },
  };
  return {
    announcer,
    close: (how) => {
      liveness.close();
      speaker.stop(undefined, how);
    },
    restartKeepsRoutes: () => speaker.restartKeepsRoutes(),
    peers: () =>
      speaker.peers().map((p) => ({ ...p, bfd: liveness.status(p.name), linkUp: liveness.linkUp(p.name) })),
    received: () => speaker.received(),
    peerDetail: (name) => {
      const d = speaker.peerDetail(name);
      return d && { ...d, bfd: liveness.status(name), linkUp: liveness.linkUp(name) };
    },
    resetPeer: (name, hard) => speaker.resetPeer(name, hard),
    sent: () => speaker.sent(),
    connectionsRefused: () => speaker.connectionsRefused,
    bfdDrops: () => ({ ...liveness.bfd.drops }),
  };
}

function levelOf(event: string, fields: Record<string, unknown>): Level {
  const lostSession = event === 'bgp-peer-state' && fields.from === 'established';
  const lostPeer =
    (event === 'bfd-state' && fields.from === 'up') ||
    (event === 'bgp-peer-reachability' && fields.reachable === false);
  return lostSession || lostPeer || event.endsWith('-failed') || event === 'bgp-max-prefix' ? 'warn' : 'info';
}
