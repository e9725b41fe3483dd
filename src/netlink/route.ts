// rtnetlink routes (RTM_NEWROUTE/DELROUTE/GETROUTE): encode and decode struct rtmsg with its
// attributes, including multipath (RTA_MULTIPATH of struct rtnexthop) and an IPv6 next hop for an
// IPv4 route (RTA_VIA, RFC 8950 style, as FRR installs for unnumbered peers).
import { AnycastdError } from '../errors.js';
import { afOf, familyOfAf, formatIp, formatPrefix, type IpFamily, parseIp, parsePrefix } from './ip.js';
import { attr, attrU32, fixedHeader, parseAttrs, replyAttrs, u32Of } from './nlmsg.js';

/** linux/rtnetlink.h */
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_MULTIPATH = 9;
const RTA_TABLE = 15;
const RTA_VIA = 18;
const RTNH_F_ONLINK = 4;
const RTMSG_SIZE = 12;
const RTNH_SIZE = 8;
/** Tables: ids above 255 go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC. */
export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
const MAX_INLINE_TABLE = 255;
/** Route origin (rtm_protocol); daemons use their own numbers (see /etc/iproute2/rt_protos). */
export const RTPROT_BOOT = 3;
/** rtm_scope */
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
/** rtm_type by name (index = RTN_* number). */
const ROUTE_TYPES = [
  'unspec',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
  'nat',
] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];
const MIN_WEIGHT = 1;
const MAX_WEIGHT = 256;

export interface RouteNexthop {
  /** Gateway; an IPv6 gateway on an IPv4 route is sent as RTA_VIA. */
  gateway?: string;
  ifindex?: number;
  /** ECMP weight 1..256 (multipath only; default 1). */
  weight?: number;
  /** Gateway reachable on the link without a matching connected route. */
  onlink?: boolean;
}

export interface Route {
  /** Destination prefix, e.g. '0.0.0.0/0', '2001:db8::/32'. Its family is the route's family. */
  dst: string;
  /** Default RT_TABLE_MAIN. */
  table?: number;
  /** rtm_protocol; default RTPROT_BOOT (what `ip route add` uses). */
  protocol?: number;
  /** RTA_PRIORITY ("metric"). */
  metric?: number;
  /** Default 'unicast'. */
  type?: RouteType;
  /** Default: host for local, link for a unicast route without gateways, universe otherwise. */
  scope?: number;
  prefsrc?: string;
  /** One entry: a plain route; several: ECMP (RTA_MULTIPATH). None for blackhole and the like. */
  nexthops: RouteNexthop[];
}

/** A decoded route: everything filled in. */
export interface KernelRoute extends Required<Omit<Route, 'prefsrc'>> {
  family: IpFamily;
  prefsrc?: string;
}

function invalid(message: string): AnycastdError {
  return new AnycastdError('ERR_INVALID_ARGUMENT', message);
}

function gatewayAttr(routeFamily: IpFamily, gateway: string): Buffer {
  const gw = parseIp(gateway);
  if (gw.family === routeFamily) return attr(RTA_GATEWAY, gw.bytes);
  if (routeFamily === 4) {
    const via = Buffer.alloc(2 + gw.bytes.length);
    via.writeUInt16LE(afOf(gw.family), 0);
    gw.bytes.copy(via, 2);
    return attr(RTA_VIA, via);
  }
  throw invalid(`an IPv6 route cannot have IPv4 gateway ${gateway}`);
}

function nexthopEntry(family: IpFamily, nh: RouteNexthop): Buffer {
  const weight = nh.weight ?? MIN_WEIGHT;
  if (!Number.isInteger(weight) || weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
    throw invalid(`nexthop weight must be ${MIN_WEIGHT}..${MAX_WEIGHT}: ${weight}`);
  }
  const attrs = nh.gateway ? gatewayAttr(family, nh.gateway) : Buffer.alloc(0);
  const head = Buffer.alloc(RTNH_SIZE);
  head.writeUInt16LE(RTNH_SIZE + attrs.length, 0);
  head.writeUInt8(nh.onlink ? RTNH_F_ONLINK : 0, 2);
  head.writeUInt8(weight - 1, 3);
  head.writeInt32LE(nh.ifindex ?? 0, 4);
  return Buffer.concat([head, attrs]);
}

/** rtmsg and attributes of `route`; `forDelete` leaves type and scope to the kernel's matching. */
export function encodeRoute(route: Route, forDelete = false): { fixed: Buffer; attrs: Buffer[] } {
  const dst = parsePrefix(route.dst);
  const table = route.table ?? RT_TABLE_MAIN;
  const type = route.type ?? 'unicast';
  const hasGateway = route.nexthops.some((nh) => nh.gateway !== undefined);
  const scope =
    route.scope ??
    (type === 'local'
      ? RT_SCOPE_HOST
      : type === 'unicast' && !hasGateway
        ? RT_SCOPE_LINK
        : RT_SCOPE_UNIVERSE);
  const fixed = Buffer.alloc(RTMSG_SIZE);
  fixed.writeUInt8(afOf(dst.family), 0);
  fixed.writeUInt8(dst.length, 1);
  fixed.writeUInt8(table > MAX_INLINE_TABLE ? RT_TABLE_UNSPEC : table, 4);
  fixed.writeUInt8(route.protocol ?? RTPROT_BOOT, 5);
  fixed.writeUInt8(forDelete ? RT_SCOPE_UNIVERSE : scope, 6);
  fixed.writeUInt8(forDelete && route.type === undefined ? 0 : ROUTE_TYPES.indexOf(type), 7);
  const attrs = [attr(RTA_DST, dst.bytes), attrU32(RTA_TABLE, table)];
  if (route.metric !== undefined) attrs.push(attrU32(RTA_PRIORITY, route.metric));
  if (route.prefsrc !== undefined) attrs.push(attr(RTA_PREFSRC, parseIp(route.prefsrc).bytes));
  const [only, ...more] = route.nexthops;
  if (only && more.length === 0) {
    if (only.gateway) attrs.push(gatewayAttr(dst.family, only.gateway));
    if (only.ifindex) attrs.push(attrU32(RTA_OIF, only.ifindex));
    if (only.onlink) fixed.writeUInt32LE(RTNH_F_ONLINK, 8);
  } else if (only) {
    attrs.push(attr(RTA_MULTIPATH, Buffer.concat(route.nexthops.map((nh) => nexthopEntry(dst.family, nh)))));
  }
  return { fixed, attrs };
}

function decodeGateway(attrs: Map<number, Buffer>): string | undefined {
  const gw = attrs.get(RTA_GATEWAY);
  if (gw) return formatIp(gw);
  const via = attrs.get(RTA_VIA);
  return via ? formatIp(via.subarray(2)) : undefined;
}

function decodeMultipath(buf: Buffer): RouteNexthop[] {
  const out: RouteNexthop[] = [];
  for (let off = 0; off + RTNH_SIZE <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < RTNH_SIZE) break;
    const gateway = decodeGateway(parseAttrs(buf.subarray(off + RTNH_SIZE, off + len)));
    const nh: RouteNexthop = { ifindex: buf.readInt32LE(off + 4), weight: buf.readUInt8(off + 3) + 1 };
    if (gateway) nh.gateway = gateway;
    if (buf.readUInt8(off + 2) & RTNH_F_ONLINK) nh.onlink = true;
    out.push(nh);
    off += (len + 3) & ~3;
  }
  return out;
}

/** Decodes an RTM_NEWROUTE reply; null for families other than IPv4/IPv6. */
export function decodeRoute(msg: Buffer): KernelRoute | null {
  const rt = fixedHeader(msg, RTMSG_SIZE);
  const family = familyOfAf(rt.readUInt8(0));
  if (family === undefined) return null;
  const attrs = replyAttrs(msg, RTMSG_SIZE);
  const length = rt.readUInt8(1);
  const dstBytes = attrs.get(RTA_DST) ?? Buffer.alloc(family === 4 ? 4 : 16);
  let nexthops: RouteNexthop[];
  const mp = attrs.get(RTA_MULTIPATH);
  if (mp) nexthops = decodeMultipath(mp);
  else {
    const gateway = decodeGateway(attrs);
    const ifindex = u32Of(attrs.get(RTA_OIF));
    const nh: RouteNexthop = {};
    if (gateway) nh.gateway = gateway;
    if (ifindex !== undefined) nh.ifindex = ifindex;
    if (rt.readUInt32LE(8) & RTNH_F_ONLINK) nh.onlink = true;
    nexthops = gateway || ifindex !== undefined ? [nh] : [];
  }
  const route: KernelRoute = {
    family,
    dst: formatPrefix({ bytes: dstBytes, length }),
    table: u32Of(attrs.get(RTA_TABLE)) ?? rt.readUInt8(4),
    protocol: rt.readUInt8(5),
    metric: u32Of(attrs.get(RTA_PRIORITY)) ?? 0,
    type: ROUTE_TYPES[rt.readUInt8(7)] ?? 'unspec',
    scope: rt.readUInt8(6),
    nexthops,
  };
  const prefsrc = attrs.get(RTA_PREFSRC);
  if (prefsrc) route.prefsrc = formatIp(prefsrc);
  return route;
}

/** rtmsg of a dump request for one family. */
export function routeDumpHeader(family: IpFamily): Buffer {
  const fixed = Buffer.alloc(RTMSG_SIZE);
  fixed.writeUInt8(afOf(family), 0);
  return fixed;
}

/** 'dst via gw dev N, ... table T proto P metric M' for attempts and logs. */
export function describeRoute(r: Route): string {
  const hops = r.nexthops
    .map((nh) =>
      [nh.gateway && `via ${nh.gateway}`, nh.ifindex && `ifindex ${nh.ifindex}`].filter(Boolean).join(' '),
    )
    .join(', ');
  const extra = [
    r.table !== undefined && `table ${r.table}`,
    r.protocol !== undefined && `proto ${r.protocol}`,
    r.metric !== undefined && `metric ${r.metric}`,
  ].filter(Boolean);
  return [r.type && r.type !== 'unicast' ? r.type : '', r.dst, hops, ...extra].filter(Boolean).join(' ');
}
