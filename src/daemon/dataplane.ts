// The data plane of one process: the steering program loaded adopting the maps pinned by a previous run,
// a heartbeat written into the pins on the clock (the next process reads how old they are), and the
// program attached to every uplink, atomically replacing the previous run's program (XDP_FLAGS_REPLACE
// naming it), so no packet meets an interface without one; pins of an older layout are migrated and their
// swap finished once every uplink runs the new program (steer/pin-plan.ts). Pins of a layout this program
// cannot take are refused before anything changes. Closing leaves the attached program and the pins.
import type { LogSink } from '../agent/log.js';
import { makeRecord } from '../agent/log.js';
import type { Clock } from '../clock.js';
import { ringServices } from '../config/limits.js';
import type { Config } from '../config/types.js';
import { ifIndex } from '../native/xdp.js';
import { Dataplane } from '../steer/dataplane.js';

/** How often the agent records that it is alive in the pins (Dataplane.heartbeat). */
const HEARTBEAT_MS = 1_000;

export interface RunningDataplane {
  dp: Dataplane;
  /** How old the adopted pins were at start (ms, rounded); null: none adopted, or no beat in them. */
  pinsAgeMs: number | null;
  close(): void;
}

export function startDataplane(
  config: Config,
  pinDir: string,
  clock: Clock,
  sink: LogSink,
): RunningDataplane {
  const { ipv4, ipv6 } = config.node.host;
  const dp = Dataplane.open({
    pinDir,
    ringSize: config.dataplane.ringSize,
    ringServices: ringServices(config.services.length, config.dataplane.maxServices),
    flowTableSize: config.dataplane.flowTableSize,
    floodNewFlowsPerCpu: config.dataplane.floodNewFlowsPerCpu,
    recordSettled: config.dataplane.recordFlows === 'all',
    mtu: config.dataplane.mtu,
    ...(ipv4 ? { host4: ipv4 } : {}),
    ...(ipv6 ? { host6: ipv6 } : {}),
  });
  // read before the first beat
  const pinsAgeMs = dp.pinsAgeMs === null ? null : Math.round(dp.pinsAgeMs);
  dp.heartbeat();
  const beat = clock.setInterval(() => dp.heartbeat(), HEARTBEAT_MS, { unref: true });
  const close = (): void => {
    clock.clearInterval(beat);
    dp.close(); // closing our fds leaves the attached program and the pins in place
  };
  let added: Record<string, number> | null;
  try {
    for (const uplink of config.node.uplinks) dp.replaceOn(ifIndex(uplink), config.dataplane.xdpMode);
    added = dp.finishUpgrade(); // a migration's pins are replaced only once every uplink runs this program
  } catch (err) {
    close();
    throw err;
  }
  sink(
    makeRecord('info', 'xdp-attached', {
      reason: 'start',
      uplinks: config.node.uplinks,
      adopted: dp.adopted,
      pins_age_ms: pinsAgeMs,
      layout: dp.layout.object,
      ...(dp.migrated.length > 0
        ? { migrated: dp.migrated, layout_from: dp.layout.pinned, added_since_copy: added }
        : {}),
    }),
  );
  return { dp, pinsAgeMs, close };
}
