// rtnetlink codec for links, interface addresses and neighbours (linux/if_link.h, if_addr.h,
// neighbour.h): their shapes, decoders for dump replies and change events, and request encoders.
import { AnycastdError } from '../errors.js';
import { afOf, familyOfAf, formatIp, type IpFamily, parseIp } from './ip.js';
import { attr, attrU32, fixedHeader, parseAttrs, replyAttrs, stringOf, u32Of } from './nlmsg.js';

/** linux/rtnetlink.h message types and linux/if_link.h, if_addr.h, neighbour.h attributes. */
export const RTM_NEWLINK = 16;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWNEIGH = 28;
export const RTM_DELNEIGH = 29;
export const RTM_GETNEIGH = 30;
export const IFINFOMSG_SIZE = 16;
export const IFADDRMSG_SIZE = 8;
export const NDMSG_SIZE = 12;
const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_FLAGS = 8;
const IFA_F_NODAD = 0x02;
export const NDA_DST = 1;
export const NDA_LLADDR = 2;
export const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_LOWER_UP = 0x10000;
export const AF_UNSPEC = 0;
/** Neighbour states (NUD_*), by bit. */
export const NUD_PERMANENT = 0x80;
export const NUD_NOARP = 0x40;
export const NUD_FAILED = 0x20;
/** Address scopes (rtm/ifa scope). */
export const SCOPE_UNIVERSE = 0;

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

export function parseMac(mac: string): Buffer {
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

/** The ndmsg header of a neighbour request. */
export function ndmsg(family: IpFamily, ifindex: number, state: number): Buffer {
  const nd = Buffer.alloc(NDMSG_SIZE);
  nd.writeUInt8(afOf(family), 0);
  nd.writeInt32LE(ifindex, 4);
  nd.writeUInt16LE(state, 8);
  return nd;
}

/** ifaddrmsg and attributes of an address request, and its text for attempts. */
export function encodeAddress(spec: AddressSpec): { fixed: Buffer; attrs: Buffer[]; text: string } {
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
