// The kernel's default route(s) learned by BGP: the accepted default routes of every Established
// peer become ONE multipath route per family (RTA_MULTIPATH), written over rtnetlink through the
// native addon with anycastd's own route protocol number and the configured metric; replaced as a
// whole when the set of next hops changes, deleted when it becomes empty and on shutdown; with the
// host address as preferred source when it is on an interface (else without it, retried every second). An IPv4
// default via an IPv6 (link-local) next hop goes out as RTA_VIA (RFC 8950, unnumbered peering).

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
  /** Retry interval for the preferred source (default 1 s). */
  prefsrcRetryMs?: number;
}

function key(nh: DefaultNexthop): string {
  return `${nh.gateway}%${nh.ifindex ?? 0}`;
}

export class DefaultRouteWriter implements DefaultRouteSink {
  private readonly installed = new Map<IpFamily, string>();
  private readonly retries = new Map<IpFamily, NodeJS.Timeout>();
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
      this.remove(family);
      return;
    }
    const route = this.route(
      family,
      sorted.map((nh) => ({ ...nh })),
    );
    try {
      this.rtnl.replaceRoute(route);
      this.installed.set(family, signature);
    } catch (err) {
      if (route.prefsrc === undefined || (err as { code?: string }).code !== EINVAL) throw err;
      // The host address is not (yet) on an interface: forward without a preferred source rather than
      // not at all; tried again on the next update or after a while.
      this.options.onPrefsrcRejected?.(family, route.prefsrc);
      this.rtnl.replaceRoute({ ...route, prefsrc: undefined });
      this.installed.set(family, `${signature}${WITHOUT_PREFSRC}`);
      this.retryLater(family, sorted);
    }
  }

  /** Try the preferred source again after a while (the agent may put the host address on lo later). */
  private retryLater(family: IpFamily, nexthops: DefaultNexthop[]): void {
    clearTimeout(this.retries.get(family));
    const timer = setTimeout(() => {
      this.retries.delete(family);
      if (this.installed.get(family)?.endsWith(WITHOUT_PREFSRC)) this.update(family, nexthops);
    }, this.options.prefsrcRetryMs ?? PREFSRC_RETRY_MS);
    timer.unref();
    this.retries.set(family, timer);
  }

  /** Delete our default route of one family (a route already gone is fine). */
  remove(family: IpFamily): void {
    this.installed.delete(family);
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
