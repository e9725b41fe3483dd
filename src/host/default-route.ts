// The kernel's default route(s) learned by BGP: the accepted default routes of every Established
// peer become ONE multipath route per family (RTA_MULTIPATH), written over rtnetlink through the
// native addon with anycastd's own route protocol number and the configured metric; replaced as a
// whole when the set of next hops changes, deleted when it becomes empty and on shutdown; with the
// host address as preferred source when it is on an interface (else without it, retried every second). An IPv4
// default via an IPv6 (link-local) next hop goes out as RTA_VIA (RFC 8950, unnumbered peering).
// One bad next hop never blocks the others: the kernel refuses a whole multipath route for one gateway
// it cannot reach (ENETUNREACH "Nexthop has invalid gateway", ENODEV for a vanished interface), so when
// the set is refused it is built again one next hop at a time, keeping those the kernel takes; the
// refused ones are reported and tried again every second. With none left the route is deleted — a
// refused update never leaves the previous next hops (a peer that went away) in the kernel.

import type { Rtnetlink } from '../native/rtnl.js';
import type { IpFamily } from '../netlink/ip.js';
import type { Route, RouteNexthop } from '../netlink/route.js';

export const DEFAULT_DST: Record<IpFamily, string> = { 4: '0.0.0.0/0', 6: '::/0' };
/** Used when the config names no route protocol (not in iproute2's rt_protos). */
export const FALLBACK_ROUTE_PROTOCOL = 200;
const ESRCH = 'ESRCH';
/** The kernel's answer to a preferred source that is no local address. */
const EINVAL = 'EINVAL';
/** How soon a route installed without its preferred source tries it again. */
const PREFSRC_RETRY_MS = 1000;
/** Marks an installed next-hop set that went in without its preferred source. */
const WITHOUT_PREFSRC = '!no-prefsrc';
/** Marks an installed next-hop set of which the kernel refused some next hops. */
const PARTIAL = '!partial';

export interface DefaultNexthop {
  gateway: string;
  /** Needed for a link-local gateway. */
  ifindex?: number;
}

/** Where the speaker puts the default route's next hops (this writer, or a recorder in tests). */
export interface DefaultRouteSink {
  update(family: IpFamily, nexthops: readonly DefaultNexthop[]): void;
}

export interface DefaultRouteOptions {
  protocol?: number;
  metric: number;
  table?: number;
  /**
   * Source address for traffic the host itself sends by the default route (RTA_PREFSRC), per family: the
   * host address, which is always advertised. Without it the kernel picks the first uplink's link address,
   * and the reply to a packet that left by the other uplink has no way back (only VIPs and host
   * addresses are exported), so health checks of remote instances fail on some ECMP hashes.
   */
  prefsrc?: Partial<Record<IpFamily, string | null>>;
  /** The kernel refused the preferred source (not a local address); the route went in without it. */
  onPrefsrcRejected?: (family: IpFamily, prefsrc: string) => void;
  /** Retry interval for the preferred source and for refused next hops (default 1 s). */
  prefsrcRetryMs?: number;
  /** The kernel refused these next hops (the others went in); called when the refused set changes. */
  onNexthopsRejected?: (
    family: IpFamily,
    refused: readonly { nexthop: DefaultNexthop; error: string }[],
  ) => void;
}

function key(nh: DefaultNexthop): string {
  return `${nh.gateway}%${nh.ifindex ?? 0}`;
}

function errorText(err: unknown): string {
  return (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
}

export class DefaultRouteWriter implements DefaultRouteSink {
  private readonly installed = new Map<IpFamily, string>();
  private readonly retries = new Map<IpFamily, NodeJS.Timeout>();
  /** The next hops in the kernel after the last update that went in, per family. */
  private readonly good = new Map<IpFamily, Set<string>>();
  /** The refused next hops last reported, per family (reported again only when they change). */
  private readonly reported = new Map<IpFamily, string>();
  private readonly protocol: number;

  constructor(
    private readonly rtnl: Rtnetlink,
    private readonly options: DefaultRouteOptions,
  ) {
    this.protocol = options.protocol ?? FALLBACK_ROUTE_PROTOCOL;
  }

  private route(family: IpFamily, nexthops: RouteNexthop[]): Route {
    const r: Route = {
      dst: DEFAULT_DST[family],
      protocol: this.protocol,
      metric: this.options.metric,
      nexthops,
    };
    if (this.options.table !== undefined) r.table = this.options.table;
    const src = this.options.prefsrc?.[family];
    if (src && nexthops.length > 0) r.prefsrc = src;
    return r;
  }

  /** Install (replace) the default route with these next hops; none deletes it. Unchanged sets cost nothing. */
  update(family: IpFamily, nexthops: readonly DefaultNexthop[]): void {
    const unique = new Map(nexthops.map((nh) => [key(nh), nh]));
    const sorted = [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, nh]) => nh);
    const signature = sorted.map(key).join(',');
    if ((this.installed.get(family) ?? '') === signature) return;
    if (sorted.length === 0) {
      this.report(family, []);
      this.remove(family);
      return;
    }
    let prefsrcOk = true;
    const refused: { nexthop: DefaultNexthop; error: string }[] = [];
    try {
      prefsrcOk = this.write(family, sorted);
      this.good.set(family, new Set(sorted.map(key)));
    } catch (err) {
      if (sorted.length === 1) refused.push({ nexthop: sorted[0]!, error: errorText(err) });
      else prefsrcOk = this.oneByOne(family, sorted, refused);
      if (refused.length === sorted.length) {
        // nothing the kernel takes: no default of ours rather than the previous next hops
        this.remove(family);
        this.installed.set(family, `${signature}${PARTIAL}`);
      }
    }
    this.report(family, refused);
    if (refused.length < sorted.length) {
      const marks = `${prefsrcOk ? '' : WITHOUT_PREFSRC}${refused.length > 0 ? PARTIAL : ''}`;
      this.installed.set(family, `${signature}${marks}`);
    }
    if (!prefsrcOk || refused.length > 0) this.retryLater(family, sorted);
  }

  /**
   * The kernel refused the whole set: build it again one next hop at a time (each replace holds the
   * next hops taken so far plus one more), collecting the refused ones. It starts from those of the set
   * already in the kernel, so a retry does not first shrink a working route. Returns whether the
   * preferred source went in.
   */
  private oneByOne(
    family: IpFamily,
    hops: readonly DefaultNexthop[],
    refused: { nexthop: DefaultNexthop; error: string }[],
  ): boolean {
    const known = this.good.get(family) ?? new Set<string>();
    let taken = hops.filter((nh) => known.has(key(nh)));
    let prefsrcOk = true;
    try {
      if (taken.length > 0) prefsrcOk = this.write(family, taken);
    } catch {
      taken = [];
    }
    const tried = new Set(taken.map(key));
    for (const nh of hops.filter((h) => !tried.has(key(h)))) {
      try {
        prefsrcOk = this.write(family, [...taken, nh]);
        taken.push(nh);
      } catch (err) {
        refused.push({ nexthop: nh, error: errorText(err) });
      }
    }
    this.good.set(family, new Set(taken.map(key)));
    return prefsrcOk;
  }

  /**
   * Replace the route with these next hops; true if with the preferred source. A preferred source the
   * kernel refuses (the host address is not on an interface yet) is dropped rather than not forwarding.
   */
  private write(family: IpFamily, hops: readonly DefaultNexthop[]): boolean {
    const route = this.route(
      family,
      hops.map((nh) => ({ ...nh })),
    );
    try {
      this.rtnl.replaceRoute(route);
      return true;
    } catch (err) {
      if (route.prefsrc === undefined || (err as { code?: string }).code !== EINVAL) throw err;
      this.rtnl.replaceRoute({ ...route, prefsrc: undefined });
      this.options.onPrefsrcRejected?.(family, route.prefsrc);
      return false;
    }
  }

  private report(family: IpFamily, refused: readonly { nexthop: DefaultNexthop; error: string }[]): void {
    const text = refused.map((r) => `${key(r.nexthop)} ${r.error}`).join(',');
    if ((this.reported.get(family) ?? '') === text) return;
    this.reported.set(family, text);
    if (refused.length > 0) this.options.onNexthopsRejected?.(family, refused);
  }

  /** Try again after a while: the preferred source (the agent may put the host address on lo later), refused next hops. */
  private retryLater(family: IpFamily, nexthops: DefaultNexthop[]): void {
    clearTimeout(this.retries.get(family));
    const timer = setTimeout(() => {
      this.retries.delete(family);
      const now = this.installed.get(family);
      if (now?.endsWith(WITHOUT_PREFSRC) || now?.endsWith(PARTIAL)) {
        this.installed.delete(family);
        this.update(family, nexthops);
      }
    }, this.options.prefsrcRetryMs ?? PREFSRC_RETRY_MS);
    timer.unref();
    this.retries.set(family, timer);
  }

  /** Delete our default route of one family (a route already gone is fine). */
  remove(family: IpFamily): void {
    this.installed.delete(family);
    this.good.delete(family);
    clearTimeout(this.retries.get(family));
    this.retries.delete(family);
    try {
      this.rtnl.deleteRoute(this.route(family, []));
    } catch (err) {
      if ((err as { code?: string }).code !== ESRCH) throw err;
    }
  }

  /** Shutdown: both families' default routes out of the kernel. */
  clear(): void {
    this.remove(4);
    this.remove(6);
  }
}
