// GoBGP 3.10 (Debian's gobgpd package) as a lab ToR: renders gobgpd.toml for a router with these
// sessions and starts `gobgpd -f <conf>` inside its namespace (foreground; the lab's pid is gobgpd's),
// its gRPC API on 127.0.0.1 of that namespace (each namespace has its own loopback). Routes are
// originated and read with the `gobgp` client run in the namespace.
// Fast-convergence knobs like the other lab routers: hold 3 s, keepalive 1 s, connect retry 1 s; no
// graceful restart. GoBGP listens on port 179 of every address of its namespace: with a
// `local-address-list` it binds each address at start and exits ("bind: cannot assign requested
// address") while an IPv6 address is still tentative (DAD), which it is right after the link comes up.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInAsync, waitFor } from './exec.js';
import { DAEMON_READY_TIMEOUT_MS, type Family, LAB_TIMERS, type PeerSpec } from './peers.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const GOBGPD = '/usr/bin/gobgpd';
const GOBGP = '/usr/bin/gobgp';
/** The gRPC API, on the namespace's own loopback. */
const API_HOST = '127.0.0.1';
const API_PORT = 50051;
const AFI_SAFI: Record<Family, string> = { 4: 'ipv4-unicast', 6: 'ipv6-unicast' };

/** gobgpd.toml for a router with these sessions (one local AS). */
export function renderGobgp(routerId: string, peers: readonly PeerSpec[]): string {
  const localAs = peers[0]!.localAs;
  const parts = [
    `[global.config]
  as = ${localAs}
  router-id = "${routerId}"
`,
  ];
  for (const p of peers) {
    parts.push(`[[neighbors]]
  [neighbors.config]
    neighbor-address = "${p.peerAddress}"
    peer-as = ${p.peerAs}
  [neighbors.timers.config]
    connect-retry = ${LAB_TIMERS.connectRetryS}
    hold-time = ${LAB_TIMERS.holdS}
    keepalive-interval = ${LAB_TIMERS.keepaliveS}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${AFI_SAFI[p.family]}"
`);
  }
  return parts.join('\n');
}

export interface GobgpInstance {
  dir: string;
  proc: LabProcess;
  /** Run the gobgp client against this instance, e.g. gobgp(['neighbor']). */
  gobgp(args: readonly string[]): Promise<string>;
  /** Originate a route with this next hop (GoBGP rewrites it to its own address toward an eBGP peer). */
  announce(prefix: string, nextHop: string): Promise<void>;
  /** The prefixes GoBGP holds from its peers, per family (`gobgp global rib -a ipvN -j`). */
  prefixes(family: Family): Promise<string[]>;
}

/** Write the config and start gobgpd in `ns`; resolves once its API answers. */
export async function startGobgp(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  label: string,
  conf: string,
): Promise<GobgpInstance> {
  mkdirSync(dir, { recursive: true });
  const confFile = join(dir, 'gobgpd.toml');
  writeFileSync(confFile, conf);
  const args = ['-f', confFile, '-p', '--pprof-disable', `--api-hosts=${API_HOST}:${API_PORT}`];
  const proc = procs.start(`gobgpd ${label}`, ns, GOBGPD, args, join(dir, 'gobgpd.log'));
  const gobgp = (a: readonly string[]) =>
    runInAsync(ns, GOBGP, ['-u', API_HOST, '-p', String(API_PORT), ...a]);
  await waitFor(`gobgpd ${label} API`, () => gobgp(['global']).then(() => true), DAEMON_READY_TIMEOUT_MS);
  return {
    dir,
    proc,
    gobgp,
    announce: async (prefix, nextHop) => {
      const family = prefix.includes(':') ? 'ipv6' : 'ipv4';
      await gobgp(['global', 'rib', 'add', '-a', family, prefix, 'nexthop', nextHop]);
    },
    prefixes: async (family) => {
      const out = await gobgp(['global', 'rib', '-a', `ipv${family}`, '-j']);
      return Object.keys(JSON.parse(out || '{}') as Record<string, unknown>).sort();
    },
  };
}
