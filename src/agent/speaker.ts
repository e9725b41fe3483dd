// The production RouteAnnouncer: the BGP speaker of src/bgp started with its kernel side (the default
// route writer and the interface lookups of unnumbered peers over its own rtnetlink socket), its
// structured events going to the agent's log sink.

import { BgpSpeaker } from '../bgp/speaker.js';
import type { Config } from '../config/types.js';
import { type LogSink, makeRecord } from './log.js';
import type { AnnouncerHandle } from './parts.js';

export async function startSpeaker(config: Config, sink: LogSink): Promise<AnnouncerHandle> {
  const speaker = await BgpSpeaker.startWithKernel(config, {
    log: (event, fields) => sink(makeRecord('info', event, fields)),
  });
  return {
    announcer: speaker,
    close: () => speaker.stop(),
    peers: () => speaker.peers(),
    received: () => speaker.received(),
  };
}
