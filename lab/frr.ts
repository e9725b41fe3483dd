// FRR (Debian's frr 8.4 package) as a lab router: renders zebra.conf and bgpd.conf for a node and
// starts zebra and bgpd inside its namespace, each with every path of its own (no watchfrr, no
// /etc/frr, no /var/run/frr): `-N <ns>` for the path space, `--vty_socket <dir>`, `-z <dir>/zserv.api`,
// `-i <pidfile>`, `-f <config>`, `-P 0` (no TCP vty), `-u frr -g frr` (the daemons insist that the
// user be in the frrvty group, which root is not). Queried with `vtysh --vty_socket <dir>`.
// Fast-convergence knobs: keepalive/hold 1/3 s, connect retry 1 s, MRAI 0, no graceful restart (so
// a host's withdrawal or lost session removes its routes at once instead of keeping them stale) unless
// `gracefulRestart` (RFC 4724: FRR then keeps a restarting host's routes, stale, until its End-of-RIB).

import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HOST_RANGE4, HOST_RANGE6, VIP_RANGE4, VIP_RANGE6 } from './addressing.js';
import { run, runAsync, waitFor } from './exec.js';
import {
  DAEMON_READY_TIMEOUT_MS,
  type Family,
  LAB_TIMERS,
  MAX_PATHS,
  type PeerSpec,
  type Policy,
} from './peers.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const ZEBRA = '/usr/lib/frr/zebra';
const BGPD = '/usr/lib/frr/bgpd';
const VTYSH = 'vtysh';
const FRR_USER = 'frr';
/** Update-group coalesce timer (FRR's default, 1 s, delays the first UPDATEs to a new peer). */
const COALESCE_MS = 10;

/** Prefix lists and route maps that implement the three lab policies in both families. */
function policyConfig(): string {
  return `ip prefix-list DEFAULT4 seq 5 permit 0.0.0.0/0
ipv6 prefix-list DEFAULT6 seq 5 permit ::/0
ip prefix-list HOST4 seq 5 permit ${VIP_RANGE4} ge 32
ip prefix-list HOST4 seq 10 permit ${HOST_RANGE4} ge 32
ipv6 prefix-list HOST6 seq 5 permit ${VIP_RANGE6} ge 128
ipv6 prefix-list HOST6 seq 10 permit ${HOST_RANGE6} ge 128
route-map DEFAULT-ONLY-4 permit 10
 match ip address prefix-list DEFAULT4
route-map DEFAULT-ONLY-6 permit 10
 match ipv6 address prefix-list DEFAULT6
route-map HOST-ROUTES-4 permit 10
 match ip address prefix-list HOST4
route-map HOST-ROUTES-6 permit 10
 match ipv6 address prefix-list HOST6
route-map NONE deny 10
!
`;
}

function routeMap(policy: Policy, family: Family): string {
  if (policy === 'none') return 'NONE';
  return `${policy.toUpperCase()}-${family}`;
}

/** bgpd.conf for a router with these sessions (all share one local AS). */
export function renderBgpd(
  hostname: string,
  routerId: string,
  peers: readonly PeerSpec[],
  opts: { gracefulRestart?: boolean } = {},
): string {
  const localAs = peers[0]!.localAs;
  const lines = [
    `hostname ${hostname}`,
    '!',
    policyConfig(),
    `router bgp ${localAs}`,
    ` bgp router-id ${routerId}`,
    ' no bgp default ipv4-unicast',
    ' bgp bestpath as-path multipath-relax',
    opts.gracefulRestart ? ' bgp graceful-restart' : ' bgp graceful-restart-disable',
    ' bgp fast-convergence',
    ` coalesce-time ${COALESCE_MS}`,
    ` timers bgp ${LAB_TIMERS.keepaliveS} ${LAB_TIMERS.holdS}`,
  ];
  lines.push(...neighborLines(peers), '!', '');
  return lines.join('\n');
}

/** The `router bgp` lines of `peers` (indented as in bgpd.conf; vtysh takes them as they are). */
function neighborLines(peers: readonly PeerSpec[]): string[] {
  const lines: string[] = [];
  for (const p of peers) {
    lines.push(
      ` neighbor ${p.peerAddress} remote-as ${p.peerAs}`,
      ` neighbor ${p.peerAddress} description ${p.name}`,
      ` neighbor ${p.peerAddress} timers connect ${LAB_TIMERS.connectRetryS}`,
      ` neighbor ${p.peerAddress} advertisement-interval 0`,
    );
  }
  for (const family of [4, 6] as const) {
    lines.push(` address-family ${family === 4 ? 'ipv4' : 'ipv6'} unicast`, `  maximum-paths ${MAX_PATHS}`);
    for (const p of peers.filter((x) => x.family === family)) {
      lines.push(
        `  neighbor ${p.peerAddress} activate`,
        `  neighbor ${p.peerAddress} route-map ${routeMap(p.import, family)} in`,
        `  neighbor ${p.peerAddress} route-map ${routeMap(p.export, family)} out`,
      );
      if (p.originateDefault) lines.push(`  neighbor ${p.peerAddress} default-originate`);
      if (p.addPathTx) lines.push(`  neighbor ${p.peerAddress} addpath-tx-all-paths`);
    }
    lines.push(' exit-address-family');
  }
  return lines;
}

/** Add `peers` to a running bgpd (the same lines as its config file), or remove them. */
export function frrSetNeighbors(
  dir: string,
  localAs: number,
  peers: readonly PeerSpec[],
  add: boolean,
): Promise<void> {
  const lines = add ? neighborLines(peers) : peers.map((p) => `no neighbor ${p.peerAddress}`);
  return vtyshConfig(dir, [`router bgp ${localAs}`, ...lines.map((l) => l.trim())]);
}

/** A running FRR instance: its directory (sockets, configs, logs) and its two daemons. */
export interface FrrInstance {
  dir: string;
  zebra: LabProcess;
  bgpd: LabProcess;
}

export function daemonArgs(ns: string, dir: string, daemon: string): string[] {
  return [
    '-N',
    ns,
    '-u',
    FRR_USER,
    '-g',
    FRR_USER,
    '--vty_socket',
    dir,
    '-z',
    join(dir, 'zserv.api'),
    '-i',
    join(dir, `${daemon}.pid`),
    '-f',
    join(dir, `${daemon}.conf`),
    '-P',
    '0',
    '--log',
    `file:${join(dir, `${daemon}.log`)}`,
  ];
}

/**
 * Start zebra, then bgpd once zebra answers on its vty, inside `ns`. The directory is owned by the
 * frr user because the daemons drop to it before they create their sockets and pid files.
 */
export async function startFrr(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  hostname: string,
  bgpdConf: string,
): Promise<FrrInstance> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'zebra.conf'), `hostname ${hostname}\n!\n`);
  writeFileSync(join(dir, 'bgpd.conf'), bgpdConf);
  const { uid, gid } = frrIds();
  chownSync(dir, uid, gid);
  const zebra = procs.start(
    `zebra ${hostname}`,
    ns,
    ZEBRA,
    daemonArgs(ns, dir, 'zebra'),
    join(dir, 'zebra.out'),
  );
  await waitFor(`zebra ${hostname} vty`, () => vtyshOk(dir, 'zebra'), DAEMON_READY_TIMEOUT_MS);
  const bgpd = procs.start(`bgpd ${hostname}`, ns, BGPD, daemonArgs(ns, dir, 'bgpd'), join(dir, 'bgpd.out'));
  await waitFor(`bgpd ${hostname} vty`, () => vtyshOk(dir, 'bgpd'), DAEMON_READY_TIMEOUT_MS);
  return { dir, zebra, bgpd };
}

let cachedIds: { uid: number; gid: number } | undefined;
export function frrIds(): { uid: number; gid: number } {
  if (!cachedIds) {
    // `id` is the plainest way to resolve a user name without a native getpwnam.
    const uid = Number.parseInt(runIdSync(['-u', FRR_USER]), 10);
    const gid = Number.parseInt(runIdSync(['-g', FRR_USER]), 10);
    cachedIds = { uid, gid };
  }
  return cachedIds;
}

function runIdSync(args: string[]): string {
  return run('id', args).trim();
}

export async function vtyshOk(dir: string, daemon: string): Promise<true | undefined> {
  await runAsync(VTYSH, ['--vty_socket', dir, '-d', daemon, '-c', 'show version']);
  return true;
}

/** Run a `show ... json` command through vtysh and parse it. */
export async function vtyshJson<T>(dir: string, command: string): Promise<T> {
  const out = await runAsync(VTYSH, ['--vty_socket', dir, '-c', command]);
  return JSON.parse(out) as T;
}

/** Apply configuration lines to a running bgpd (`configure terminal`, then each line in order). */
export async function vtyshConfig(dir: string, lines: readonly string[]): Promise<void> {
  const args = ['--vty_socket', dir, '-c', 'configure terminal'];
  for (const l of lines) args.push('-c', l);
  await runAsync(VTYSH, args);
}

interface BgpSummaryJson {
  ipv4Unicast?: { peers?: Record<string, { state: string }> };
  ipv6Unicast?: { peers?: Record<string, { state: string }> };
}

/** Session state per peer address ("Established", "Active", ...), both families. */
export async function frrSessionStates(dir: string): Promise<Map<string, string>> {
  const summary = await vtyshJson<BgpSummaryJson>(dir, 'show bgp summary json');
  const states = new Map<string, string>();
  for (const af of [summary.ipv4Unicast, summary.ipv6Unicast]) {
    for (const [addr, peer] of Object.entries(af?.peers ?? {})) states.set(addr, peer.state);
  }
  return states;
}

/** One path of a prefix in FRR's BGP table. */
export interface FrrPath {
  asPath: string;
  /** Part of the multipath set (or the best path itself). */
  multipath: boolean;
  best: boolean;
}

interface PrefixJson {
  paths?: { aspath?: { string?: string }; multipath?: boolean; bestpath?: { overall?: boolean } }[];
}

/** All paths FRR holds for `prefix` (with ADD-PATH, one per host behind each ToR). */
export async function frrPaths(dir: string, prefix: string): Promise<FrrPath[]> {
  const afi = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const json = await vtyshJson<PrefixJson>(dir, `show bgp ${afi} unicast ${prefix} json`);
  return (json.paths ?? []).map((p) => ({
    asPath: p.aspath?.string ?? '',
    best: p.bestpath?.overall === true,
    multipath: p.multipath === true || p.bestpath?.overall === true,
  }));
}
