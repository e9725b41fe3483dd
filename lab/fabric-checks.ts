// Observations of the fabric shared by the fabric test, run-fabric.ts and later the demo: where the
// VIP's routes point (each ToR's FIB, the spine's FIB and BGP table), waiting for an expected set of
// hosts to be there, and timing a host's withdrawal from the moment its speaker is stopped.
//
// What "three-way ECMP" means in this fabric: every host hangs off both ToRs, so each ToR's FIB holds
// one nexthop per host (3), while the spine's FIB holds one per ToR (2) — the kernel merges equal
// gateways, whatever BGP carries. With ADD-PATH from the ToRs, the spine's BGP table holds one path
// per host per ToR (6), which is where the spine "sees" every host.

import {
  ALL_HOSTS,
  HOSTS,
  type HostName,
  linkBetween,
  TORS,
  type TorName,
  VIP4,
  VIP6,
} from './addressing.js';
import { sleep, waitFor } from './exec.js';
import { type Nexthop, routeNexthops } from './fib.js';
import { frrPaths } from './frr.js';
import { asOf, type Family } from './peers.js';
import { RouteWatch, wallNow } from './route-watch.js';
import type { Lab } from './topology.js';

const VIP_ROUTE: Record<Family, string> = { 4: `${VIP4}/32`, 6: `${VIP6}/128` };
const WITHDRAW_POLL_MS = 5;
const CONVERGE_TIMEOUT_MS = 20_000;

export interface VipView {
  /** Hosts each ToR's FIB points the VIP at, per family. */
  tor: Record<TorName, Record<Family, HostName[]>>;
  /** The spine's FIB nexthops for the VIP (one per ToR). */
  spineFib: Record<Family, Nexthop[]>;
  /** Host AS numbers in the spine's BGP paths for the VIP, one entry per path ("65001 65101" → 65101). */
  spinePathOrigins: Record<Family, number[]>;
}

/** The host behind a ToR's downlink `dev`, or undefined for any other interface. */
function hostOnDev(tor: TorName, dev: string): HostName | undefined {
  return ALL_HOSTS.find((h) => linkBetween(tor, h).a.ifname === dev);
}

function origin(asPath: string): number {
  const parts = asPath.trim().split(/\s+/);
  return Number(parts[parts.length - 1]);
}

/** Read where the VIP points right now, at both ToRs and the spine, both families. */
export async function vipView(lab: Lab): Promise<VipView> {
  const spineDir = lab.frr.get('spine')!.dir;
  const view: VipView = {
    tor: { tor1: { 4: [], 6: [] }, tor2: { 4: [], 6: [] } },
    spineFib: { 4: [], 6: [] },
    spinePathOrigins: { 4: [], 6: [] },
  };
  const jobs: Promise<void>[] = [];
  for (const f of [4, 6] as const) {
    for (const tor of TORS) {
      jobs.push(
        routeNexthops(lab.ns(tor), VIP_ROUTE[f]).then((nhs) => {
          view.tor[tor][f] = nhs
            .map((n) => hostOnDev(tor, n.dev))
            .filter((h) => h !== undefined)
            .sort();
        }),
      );
    }
    jobs.push(
      routeNexthops(lab.ns('spine'), VIP_ROUTE[f]).then((nhs) => {
        view.spineFib[f] = nhs;
      }),
    );
    jobs.push(
      frrPaths(spineDir, VIP_ROUTE[f]).then((paths) => {
        view.spinePathOrigins[f] = paths.map((p) => origin(p.asPath)).sort();
      }),
    );
  }
  await Promise.all(jobs);
  return view;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((h, i) => h === b[i]);
}

/** True when the view shows exactly `hosts` everywhere: each ToR's FIB, the spine's FIB and BGP table. */
export function vipAt(view: VipView, hosts: readonly HostName[]): boolean {
  const want = [...hosts].sort();
  const wantOrigins = TORS.flatMap(() => want.map((h) => asOf(h))).sort();
  return ([4, 6] as const).every(
    (f) =>
      TORS.every((t) => sameList(view.tor[t][f], want)) &&
      view.spineFib[f].length === (want.length > 0 ? TORS.length : 0) &&
      view.spinePathOrigins[f].length === wantOrigins.length &&
      view.spinePathOrigins[f].every((o, i) => o === wantOrigins[i]),
  );
}

/** Wait until the VIP is at exactly `hosts`; resolves with the final view and the time it took. */
export async function waitVipAt(
  lab: Lab,
  hosts: readonly HostName[],
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<{ ms: number; view: VipView }> {
  const start = performance.now();
  const view = await waitFor(
    `VIP at ${hosts.join(',') || 'no host'}`,
    async () => {
      const v = await vipView(lab);
      if (vipAt(v, hosts)) return v;
      throw new Error(JSON.stringify(v));
    },
    timeoutMs,
  );
  return { ms: performance.now() - start, view };
}

/** Milliseconds from a host's speaker being stopped to its route leaving each place. */
export interface WithdrawalTimes {
  /** Left the ToR's FIB: the kernel's own route-change event (ip monitor, µs stamps). */
  tor1: Record<Family, number>;
  tor2: Record<Family, number>;
  /** Gone from the spine's BGP table (all paths with the host's AS withdrawn), found by polling. */
  spineBgp: Record<Family, number>;
}

/**
 * Stop `host`'s BGP stand-in with `sig` and time when the host leaves each ToR's FIB and the spine's
 * BGP table. The ToR figures are the timestamps of the kernel route events that removed it (polling
 * only finds the moment; `ip monitor` dates it). The spine's BGP table has no such event: polled every
 * few ms, so that figure includes up to one `vtysh` run (~10-20 ms) more.
 */
export function measureWithdrawal(
  lab: Lab,
  host: HostName,
  sig: NodeJS.Signals,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<WithdrawalTimes> {
  return measureWithdrawalBy(lab, host, () => lab.stopHostStandIn(host, sig), timeoutMs);
}

/**
 * Time `host`'s withdrawal after `act` (stop its speaker, kill its service, drain it): from the moment
 * `act` starts to the host leaving each ToR's FIB and the spine's BGP table.
 */
export async function measureWithdrawalBy(
  lab: Lab,
  host: HostName,
  act: () => Promise<void>,
  timeoutMs = CONVERGE_TIMEOUT_MS,
): Promise<WithdrawalTimes> {
  const watches = await Promise.all(TORS.map((t) => RouteWatch.start(lab.procs, lab.ns(t), lab.dir)));
  try {
    const start = performance.now();
    const startWall = wallNow();
    const stopped = act();
    const spineDir = lab.frr.get('spine')!.dir;
    const hostAs = asOf(host);
    const until = async (probe: () => Promise<boolean>): Promise<number> => {
      const deadline = start + timeoutMs;
      while (performance.now() < deadline) {
        if (await probe()) return performance.now() - start;
        await sleep(WITHDRAW_POLL_MS);
      }
      return Number.POSITIVE_INFINITY;
    };
    const torGone = async (i: number, f: Family): Promise<number> => {
      const tor = TORS[i]!;
      const polled = await until(async () => {
        const nhs = await routeNexthops(lab.ns(tor), VIP_ROUTE[f]);
        return !nhs.some((n) => hostOnDev(tor, n.dev) === host);
      });
      const vip = f === 4 ? VIP4 : VIP6;
      const event = watches[i]!.lastEvent(`${vip} `, startWall, startWall + polled);
      return event ? event.at - startWall : polled;
    };
    const spineGone = (f: Family) =>
      until(async () => !(await frrPaths(spineDir, VIP_ROUTE[f])).some((p) => origin(p.asPath) === hostAs));
    const [t14, t16, t24, t26, s4, s6] = await Promise.all([
      torGone(0, 4),
      torGone(0, 6),
      torGone(1, 4),
      torGone(1, 6),
      spineGone(4),
      spineGone(6),
    ]);
    await stopped;
    return { tor1: { 4: t14, 6: t16 }, tor2: { 4: t24, 6: t26 }, spineBgp: { 4: s4, 6: s6 } };
  } finally {
    await Promise.all(watches.map((w) => w.stop()));
  }
}

/** Bring a host fully up as the real agent will: VIP on lo, service on the VIP, BGP speaker (stand-in). */
export async function bringUpHost(lab: Lab, host: HostName): Promise<void> {
  lab.addVip(host);
  await lab.startService(host);
  await lab.startHostStandIn(host);
}

const DEFAULT_ROUTE: Record<Family, string> = { 4: '0.0.0.0/0', 6: '::/0' };

/** Uplinks (up1 = tor1, up2 = tor2) of each host's default route, per family. */
export async function hostDefaults(lab: Lab): Promise<Record<HostName, Record<Family, string[]>>> {
  const out = {} as Record<HostName, Record<Family, string[]>>;
  await Promise.all(
    HOSTS.map(async (h) => {
      const [v4, v6] = await Promise.all(
        ([4, 6] as const).map((f) => routeNexthops(lab.ns(h), DEFAULT_ROUTE[f])),
      );
      out[h] = { 4: v4!.map((n) => n.dev).sort(), 6: v6!.map((n) => n.dev).sort() };
    }),
  );
  return out;
}

/** What the fabric looks like with one ToR down: defaults and the spine's FIB keep only the other. */
export interface TorDownView {
  hostDefaults: Record<HostName, Record<Family, string[]>>;
  spineFib: Record<Family, Nexthop[]>;
  /** Hosts the surviving ToR's FIB points the VIP at. */
  survivor: Record<Family, HostName[]>;
}

/**
 * Stop `tor`'s daemons and wait until every host's default route and the spine's VIP route use only
 * the other ToR (which still reaches all three hosts); resolves with that view and the time it took.
 */
export async function failTor(lab: Lab, tor: TorName): Promise<{ ms: number; view: TorDownView }> {
  const other: TorName = tor === 'tor1' ? 'tor2' : 'tor1';
  const otherUplink = linkBetween(other, 'h1').b.ifname;
  const otherSpinePort = linkBetween('spine', other).a.ifname;
  const start = performance.now();
  await lab.stopRouter(tor);
  const view = await waitFor(
    `${tor} down: everything through ${other}`,
    async () => {
      const v: TorDownView = {
        hostDefaults: await hostDefaults(lab),
        spineFib: { 4: [], 6: [] },
        survivor: { 4: [], 6: [] },
      };
      for (const f of [4, 6] as const) {
        v.spineFib[f] = await routeNexthops(lab.ns('spine'), VIP_ROUTE[f]);
        const nhs = await routeNexthops(lab.ns(other), VIP_ROUTE[f]);
        v.survivor[f] = nhs
          .map((n) => hostOnDev(other, n.dev))
          .filter((h) => h !== undefined)
          .sort();
      }
      const ok = ([4, 6] as const).every(
        (f) =>
          HOSTS.every((h) => sameList(v.hostDefaults[h][f], [otherUplink])) &&
          v.spineFib[f].length === 1 &&
          v.spineFib[f][0]!.dev === otherSpinePort,
      );
      if (ok) return v;
      throw new Error(JSON.stringify(v));
    },
    CONVERGE_TIMEOUT_MS,
  );
  return { ms: performance.now() - start, view };
}
