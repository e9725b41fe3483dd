// `anycastd cleanup`: decommissioning after a final stop. A stopped agent deliberately leaves the data
// plane in place so that a restart keeps every flow (XDP attached, maps pinned, VIPs on lo); when the
// host leaves the service for good these go: the services' VIPs off lo, the XDP program off the
// configured uplinks, the steering maps' pins and the flow reaper's link pin (and their directory once empty), and a default route of
// the agent's route protocol that a killed agent left (a stopped one deletes its own). The node's host
// addresses stay on lo: they may be the host's identity for other uses. With `dataplane.mode: none` the
// agent never attached or pinned anything, so only the VIPs and the route are its own to remove (an XDP
// program on the uplinks then belongs to someone else).
// Refuses while an agent listens on the config's control socket. Idempotent: every step removes what is
// there and reports it; what is absent (an address, a program, a pin, an interface) is no error.
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError, SystemError } from '../errors.js';
import { DEFAULT_DST } from '../host/default-route.js';
import { LoAddresses } from '../host/lo-addresses.js';
import { Rtnetlink } from '../native/rtnl.js';
import { detachXdp, ifIndex, queryXdp, type XdpAttachedMode } from '../native/xdp.js';
import { DEFAULT_PIN_DIR, MAP_NAMES } from '../steer/dataplane.js';
import { LINK_PINS } from '../steer/pin-plan.js';

/** How long a connect to the control socket may take before the agent counts as not answering. */
const SOCKET_PROBE_MS = 2_000;
const MAIN_TABLE = 254;

export interface CleanupReport {
  /** VIPs taken off lo. */
  vips: string[];
  /** Uplinks whose XDP program was detached, with the program's id and mode. */
  xdp: { uplink: string; progId: number; mode: XdpAttachedMode }[];
  /** Configured uplinks that do not exist on this host (nothing to detach). */
  missingUplinks: string[];
  /** Pins removed (paths), and whether the pin directory itself went. */
  pins: string[];
  pinDirRemoved: boolean;
  /** Default routes of the agent's protocol deleted (by destination). */
  routes: string[];
}

/** Reads the config without the host checks (accounts, key files): decommissioning may already have removed those. */
export function readConfigForCleanup(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const found = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError([{ file, line: 0, column: 0, path: '', expected: 'a readable file', found }]);
  }
  return parseConfig(text, file);
}

/** True if something accepts connections on the unix socket `path` (an agent running). */
export function agentListening(path: string): Promise<boolean> {
  if (!existsSync(path)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const socket = createConnection(path);
    const done = (up: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(up);
    };
    // Connected, or not refused within the bound (a stuck agent still holds the host): both count as running.
    const timer = setTimeout(() => done(true), SOCKET_PROBE_MS);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function removeVips(config: Config): string[] {
  const lo = new LoAddresses();
  try {
    const vips = new Set(config.services.flatMap((s) => s.vips));
    return [...vips].filter((vip) => lo.remove(vip));
  } finally {
    lo.close();
  }
}

function detachUplinks(config: Config, report: CleanupReport): void {
  for (const uplink of config.node.uplinks) {
    let ifindex: number;
    try {
      ifindex = ifIndex(uplink);
    } catch (err) {
      if (err instanceof SystemError && err.code === 'ENODEV') {
        report.missingUplinks.push(uplink);
        continue;
      }
      throw err;
    }
    const q = queryXdp(ifindex);
    if (q.mode === 'none') continue;
    if (q.nativeProgId !== 0) detachXdp(ifindex, { mode: 'native' });
    if (q.genericProgId !== 0) detachXdp(ifindex, { mode: 'generic' });
    report.xdp.push({ uplink, progId: q.progId || q.nativeProgId || q.genericProgId, mode: q.mode });
  }
}

function removePins(pinDir: string, report: CleanupReport): void {
  for (const name of [...MAP_NAMES, ...LINK_PINS]) {
    const path = join(pinDir, name);
    if (!existsSync(path)) continue;
    rmSync(path);
    report.pins.push(path);
  }
  if (existsSync(pinDir) && readdirSync(pinDir).length === 0) {
    rmdirSync(pinDir);
    report.pinDirRemoved = true;
  }
}

function removeDefaultRoutes(config: Config): string[] {
  const rtnl = Rtnetlink.open();
  try {
    const removed: string[] = [];
    for (const family of [4, 6] as const) {
      const dst = DEFAULT_DST[family];
      for (const r of rtnl.routes({
        family,
        table: MAIN_TABLE,
        protocol: config.kernelRoute.protocol,
        dst,
      })) {
        rtnl.deleteRoute(r);
        removed.push(r.dst);
      }
    }
    return removed;
  } finally {
    rtnl.close();
  }
}

/**
 * Removes what a stopped agent left on this host (this process's network namespace). The caller has
 * made sure no agent is running (agentListening); each step is idempotent.
 */
export function cleanupHost(config: Config, pinDir: string = DEFAULT_PIN_DIR): CleanupReport {
  const report: CleanupReport = {
    vips: [],
    xdp: [],
    missingUplinks: [],
    pins: [],
    pinDirRemoved: false,
    routes: [],
  };
  report.vips = removeVips(config);
  if (config.dataplane.mode !== 'none') {
    detachUplinks(config, report);
    removePins(pinDir, report);
  }
  report.routes = removeDefaultRoutes(config);
  return report;
}
