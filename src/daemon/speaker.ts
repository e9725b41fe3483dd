// The production RouteAnnouncer: the BGP speaker of src/bgp started with its kernel side (the default
// route writer and the interface lookups of unnumbered peers over its own rtnetlink socket), its
// structured events going to the agent's log sink (a session leaving Established and the speaker's
// failures at level warn, the rest info; `bgp-peer-state` carries from, to and the reason). Its timers run
// on the daemon's clock.

import { type Level, type LogSink, makeRecord } from '../agent/log.js';
import type { AnnouncerHandle } from '../bgp/announcer.js';
import { BgpSpeaker } from '../bgp/speaker.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/types.js';

export async function startSpeaker(config: Config, sink: LogSink, clock: Clock): Promise<AnnouncerHandle> {
  const speaker = await BgpSpeaker.startWithKernel(config, {
    log: (event, fields) => sink(makeRecord(levelOf(event, fields), event, fields)),
    clock,
  });
  return {
    announcer: speaker,
    close: () => speaker.stop(),
    peers: () => speaker.peers(),
    received: () => speaker.received(),
    connectionsRefused: () => speaker.connectionsRefused,
  };
}

function levelOf(event: string, fields: Record<string, unknown>): Level {
  const lostSession = event === 'bgp-peer-state' && fields.from === 'established';
  return lostSession || event.endsWith('-failed') || event === 'bgp-max-prefix' ? 'warn' : 'info';
}
