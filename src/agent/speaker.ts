// The production RouteAnnouncer: the BGP speaker of src/bgp with the kernel's default route writer
// (src/host/default-route.ts) over its own rtnetlink socket, its structured events going to the
// agent's log sink.

import { BgpSpeaker } from '../bgp/speaker.js';
import type { Config } from '../config/types.js';
import { DefaultRouteWriter } from '../host/default-route.js';
import { Rtnetlink } from '../native/rtnl.js';
import { type LogSink, makeRecord } from './log.js';
import type { AnnouncerHandle } from './parts.js';

export async function startSpeaker(config: Config, sink: LogSink): Promise<AnnouncerHandle> {
  const rtnl = Rtnetlink.open();
  try {
    const speaker = await BgpSpeaker.start(config, {
      defaultRoutes: new DefaultRouteWriter(rtnl, {
        metric: config.kernelRoute.metric,
        protocol: config.kernelRoute.protocol,
      }),
      ifindexOf: (name) => rtnl.link(name).ifindex,
      log: (event, fields) => sink(makeRecord('info', event, fields)),
    });
    return {
      announcer: speaker,
      close: () => {
        speaker.stop();
        rtnl.close();
      },
    };
  } catch (err) {
    rtnl.close();
    throw err;
  }
}
