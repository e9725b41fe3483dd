// rtnetlink for the host: links (by name or index, up/down), interface addresses (the VIP on lo),
// neighbours, and routes (route.ts codec: multipath, RTA_VIA). One socket per Rtnetlink, in this or
// another network namespace; every call is one request and its replies.
import { AnycastdError } from '../errors.js';
import { afOf, familyOfAf, formatIp, type IpFamily, parseIp } from './ip.js';
import { NETLINK_ROUTE, type NetlinkOpenOptions, NetlinkSocket } from './netlink.js';
import {
  attr,
  attrString,
  attrU32,
  fixedHeader,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_DUMP,
  NLM_F_EXCL,
  NLM_F_REPLACE,
  parseAttrs,
  replyAttrs,
  stringOf,
  u32Of,
} from './nlmsg.js';
import {
  decodeRoute,
  encodeRoute,
  type KernelRoute,
  type Route,
  RTM_DELROUTE,
  RTM_GETROUTE,
  RTM_NEWROUTE,
  routeDumpHeader,
} from './route.js';

/** linux/rtnetlink.h message types and linux/if_link.h, if_addr.h, neighbour.h attributes. */
const RTM_NEWLINK = 16;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWNEIGH = 28;
const RTM_DELNEIGH = 29;
const RTM_GETNEIGH = 30;
const IFINFOMSG_SIZE = 16;
const IFADDRMSG_SIZE = 8;
const NDMSG_SIZE = 12;
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
const NDA_DST = 1;
const NDA_LLADDR = 2;
const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;
const AF_UNSPEC = 0;
/** Neighbour states (NUD_*), by bit. */
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_PERMANENT = 0x80;
export const NUD_NOARP = 0x40;
export const NUD_FAILED = 0x20;
/** Address scopes (rtm/ifa scope). */
export const SCOPE_UNIVERSE = 0;
export const SCOPE_LINK = 253;
export const SCOPE_HOST = 254;

export interface Link {
  ifindex: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** Carrier (IFF_LOWER_UP). */
  lowerUp: boolean;
  loopback: boolean;
  mtu: number;
  /** 'aa:bb:cc:dd:ee:ff', or null when the link has no hardware address. */
  mac: string | null;
  /** IFLA_INFO_KIND ('veth', 'bridge', ...), null for physical and loopback. */
  kind: string | null;
  /** ifindex of the master device (bridge, bond, vrf), 0 when none. */
  master: number;
}

export interface InterfaceAddress {
  family: IpFamily;
  ifindex: number;
  address: string;
  prefixLength: number;
  scope: number;
  label: string | null;
}

export interface AddressSpec {
  ifindex: number;
  address: string;
  /** Default: a host prefix (/32, /128). */
  prefixLength?: number;
  /** Default universe. */
  scope?: number;
  /** IPv6: skip duplicate address detection (usable at once). */
  noDad?: boolean;
}

export interface Neighbour {
  family: IpFamily;
  ifindex: number;
  address: string;
  mac: string | null;
  /** NUD_* bits. */
  state: number;
}

function formatMac(b: Buffer | undefined): string | null {
  if (!b || b.length === 0) return null;
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

function parseMac(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** Decodes an RTM_NEWLINK / RTM_DELLINK message. */
export function decodeLink(msg: Buffer): Link {
  const ifi = fixedHeader(msg, IFINFOMSG_SIZE);
  const attrs = replyAttrs(msg, IFINFOMSG_SIZE);
  const flags = ifi.readUInt32LE(8);
  const linkinfo = attrs.get(IFLA_LINKINFO);
  const kind = linkinfo ? stringOf(parseAttrs(linkinfo).get(IFLA_INFO_KIND)) : undefined;
  return {
    ifindex: ifi.readInt32LE(4),
    name: stringOf(attrs.get(IFLA_IFNAME)) ?? '',
    up: (flags & IFF_UP) !== 0,
    lowerUp: (flags & IFF_LOWER_UP) !== 0,
    loopback: (flags & IFF_LOOPBACK) !== 0,
    mtu: u32Of(attrs.get(IFLA_MTU)) ?? 0,
    mac: formatMac(attrs.get(IFLA_ADDRESS)),
    kind: kind ?? null,
    master: u32Of(attrs.get(IFLA_MASTER)) ?? 0,
  };
}

/** Decodes an RTM_NEWADDR / RTM_DELADDR message; null for other families. */
export function decodeAddress(msg: Buffer): InterfaceAddress | null {
  const ifa = fixedHeader(msg, IFADDRMSG_SIZE);
  const family = familyOfAf(ifa.readUInt8(0));
  if (family === undefined) return null;
  const attrs = replyAttrs(msg, IFADDRMSG_SIZE);
  const bytes = attrs.get(IFA_LOCAL) ?? attrs.get(IFA_ADDRESS);
  if (!bytes) return null;
  return {
    family,
    ifindex: ifa.readUInt32LE(4),
    address: formatIp(bytes),
    prefixLength: ifa.readUInt8(1),
    scope: ifa.readUInt8(3),
    label: stringOf(attrs.get(IFA_LABEL)) ?? null,
  };
}

/** Decodes an RTM_NEWNEIGH / RTM_DELNEIGH message; null for other families. */
export function decodeNeighbour(msg: Buffer): Neighbour | null {
  const nd = fixedHeader(msg, NDMSG_SIZE);
  const family = familyOfAf(nd.readUInt8(0));
  if (family === undefined) return null;
  const attrs = replyAttrs(msg, NDMSG_SIZE);
  const dst = attrs.get(NDA_DST);
  if (!dst) return null;
  return {
    family,
    ifindex: nd.readInt32LE(4),
    address: formatIp(dst),
    mac: formatMac(attrs.get(NDA_LLADDR)),
    state: nd.readUInt16LE(8),
  };
}

export class Rtnetlink {
  readonly #nl: NetlinkSocket;

  private constructor(nl: NetlinkSocket) {
    this.#nl = nl;
  }

  /** Opens an rtnetlink socket (optionally inside a network namespace). */
  static open(opts: NetlinkOpenOptions = {}): Rtnetlink {
    return new Rtnetlink(NetlinkSocket.open(NETLINK_ROUTE, opts));
  }

  close(): void {
    this.#nl.close();
  }

  /** Every link. */
  links(): Link[] {
    return this.#nl
      .request(RTM_GETLINK, NLM_F_DUMP, Buffer.alloc(IFINFOMSG_SIZE), [], () => 'list links')
      .map(decodeLink);
  }

  /** One link by name or ifindex; SystemError 'ENODEV' when there is none. */
  link(nameOrIndex: string | number): Link {
    const ifi = Buffer.alloc(IFINFOMSG_SIZE);
    const attrs: Buffer[] = [];
    if (typeof nameOrIndex === 'number') ifi.writeInt32LE(nameOrIndex, 4);
    else attrs.push(attrString(IFLA_IFNAME, nameOrIndex));
    const [msg] = this.#nl.request(RTM_GETLINK, 0, ifi, attrs, () => `look up link ${nameOrIndex}`);
    if (!msg) throw new AnycastdError('ERR_NOT_SUPPORTED', `no reply for link ${nameOrIndex}`);
    return decodeLink(msg);
  }

  /** Sets a link administratively up or down. */
  setLinkUp(ifindex: number, up: boolean): void {
    const ifi = Buffer.alloc(IFINFOMSG_SIZE);
    ifi.writeInt32LE(ifindex, 4);
    ifi.writeUInt32LE(up ? IFF_UP : 0, 8);
    ifi.writeUInt32LE(IFF_UP, 12);
    this.#nl.request(RTM_NEWLINK, NLM_F_ACK, ifi, [], () => `set link ${ifindex} ${up ? 'up' : 'down'}`);
  }

  /** Interface addresses, optionally of one family and/or interface. */
  addresses(filter: { family?: IpFamily; ifindex?: number } = {}): InterfaceAddress[] {
    const ifa = Buffer.alloc(IFADDRMSG_SIZE);
    ifa.writeUInt8(filter.family ? afOf(filter.family) : AF_UNSPEC, 0);
    return this.#nl
      .request(RTM_GETADDR, NLM_F_DUMP, ifa, [], () => 'list addresses')
      .map(decodeAddress)
      .filter((a): a is InterfaceAddress => a !== null && (!filter.ifindex || a.ifindex === filter.ifindex));
  }

  /** Adds an address; SystemError 'EEXIST' if present (unless `replace`). */
  addAddress(spec: AddressSpec, opts: { replace?: boolean } = {}): void {
    const flags = NLM_F_ACK | NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL);
    const { fixed, attrs, text } = this.#encodeAddress(spec);
    this.#nl.request(
      RTM_NEWADDR,
      flags,
      fixed,
      attrs,
      () => `add address ${text} to ifindex ${spec.ifindex}`,
    );
  }

  /** Removes an address; SystemError 'EADDRNOTAVAIL' when absent. */
  deleteAddress(spec: AddressSpec): void {
    const { fixed, attrs, text } = this.#encodeAddress(spec);
    this.#nl.request(
      RTM_DELADDR,
      NLM_F_ACK,
      fixed,
      attrs,
      () => `delete address ${text} from ifindex ${spec.ifindex}`,
    );
  }

  /** Neighbours (ARP / NDP entries), optionally of one family and/or interface. */
  neighbours(filter: { family?: IpFamily; ifindex?: number } = {}): Neighbour[] {
    const nd = Buffer.alloc(NDMSG_SIZE);
    nd.writeUInt8(filter.family ? afOf(filter.family) : AF_UNSPEC, 0);
    return this.#nl
      .request(RTM_GETNEIGH, NLM_F_DUMP, nd, [], () => 'list neighbours')
      .map(decodeNeighbour)
      .filter((n): n is Neighbour => n !== null && (!filter.ifindex || n.ifindex === filter.ifindex));
  }

  /** Adds or replaces a neighbour entry (default state NUD_PERMANENT). */
  setNeighbour(n: { ifindex: number; address: string; mac: string; state?: number }): void {
    const ip = parseIp(n.address);
    this.#nl.request(
      RTM_NEWNEIGH,
      NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
      this.#ndmsg(ip.family, n.ifindex, n.state ?? NUD_PERMANENT),
      [attr(NDA_DST, ip.bytes), attr(NDA_LLADDR, parseMac(n.mac))],
      () => `set neighbour ${n.address} on ifindex ${n.ifindex}`,
    );
  }

  /** Removes a neighbour entry. */
  deleteNeighbour(n: { ifindex: number; address: string }): void {
    const ip = parseIp(n.address);
    this.#nl.request(
      RTM_DELNEIGH,
      NLM_F_ACK,
      this.#ndmsg(ip.family, n.ifindex, 0),
      [attr(NDA_DST, ip.bytes)],
      () => `delete neighbour ${n.address} on ifindex ${n.ifindex}`,
    );
  }

  /** Routes of every table, optionally filtered. */
  routes(filter: { family?: IpFamily; table?: number; protocol?: number; dst?: string } = {}): KernelRoute[] {
    const families: IpFamily[] = filter.family ? [filter.family] : [4, 6];
    return families
      .flatMap((f) =>
        this.#nl.request(RTM_GETROUTE, NLM_F_DUMP, routeDumpHeader(f), [], () => `list IPv${f} routes`),
      )
      .map(decodeRoute)
      .filter(
        (r): r is KernelRoute =>
          r !== null &&
          (filter.table === undefined || r.table === filter.table) &&
          (filter.protocol === undefined || r.protocol === filter.protocol) &&
          (filter.dst === undefined || r.dst === filter.dst),
      );
  }

  /** Adds a route; SystemError 'EEXIST' if it exists (use replaceRoute to overwrite). */
  addRoute(route: Route): void {
    this.#route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, route, 'add');
  }

  /** Adds or replaces a route (a multipath route's nexthop set is replaced as a whole). */
  replaceRoute(route: Route): void {
    this.#route(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, route, 'replace');
  }

  /** Deletes a route (matching dst, table, protocol, metric and, if given, nexthops); 'ESRCH' when absent. */
  deleteRoute(route: Route): void {
    this.#route(RTM_DELROUTE, 0, route, 'delete');
  }

  #route(type: number, flags: number, route: Route, verb: string): void {
    const { fixed, attrs } = encodeRoute(route, type === RTM_DELROUTE);
    this.#nl.request(type, flags | NLM_F_ACK, fixed, attrs, () => `${verb} route ${describeRoute(route)}`);
  }

  #ndmsg(family: IpFamily, ifindex: number, state: number): Buffer {
    const nd = Buffer.alloc(NDMSG_SIZE);
    nd.writeUInt8(afOf(family), 0);
    nd.writeInt32LE(ifindex, 4);
    nd.writeUInt16LE(state, 8);
    return nd;
  }

  #encodeAddress(spec: AddressSpec): { fixed: Buffer; attrs: Buffer[]; text: string } {
    const ip = parseIp(spec.address);
    const prefixLength = spec.prefixLength ?? (ip.family === 4 ? 32 : 128);
    const ifa = Buffer.alloc(IFADDRMSG_SIZE);
    ifa.writeUInt8(afOf(ip.family), 0);
    ifa.writeUInt8(prefixLength, 1);
    ifa.writeUInt8(spec.scope ?? SCOPE_UNIVERSE, 3);
    ifa.writeUInt32LE(spec.ifindex, 4);
    const attrs = [attr(IFA_LOCAL, ip.bytes), attr(IFA_ADDRESS, ip.bytes)];
    if (spec.noDad) attrs.push(attrU32(IFA_FLAGS, IFA_F_NODAD));
    return { fixed: ifa, attrs, text: `${spec.address}/${prefixLength}` };
  }
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
