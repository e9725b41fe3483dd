// Router Advertisement messages (RFC 4861 §4.2) as bytes: the ICMPv6 message (type 134) with the
// Source Link-Layer Address option (§4.6.1), encoded for sending and decoded with the receiver's
// validity checks of §6.1.2 (hop limit 255, link-local source, code 0, length, option lengths).
// Pure functions; the raw socket is src/native/icmp6.ts, the sender/learner src/host/ra.ts.

import { isIP } from 'node:net';
import { ND_HOP_LIMIT } from '../native/icmp6.js';

/** ICMPv6 type of a Router Advertisement (RFC 4861 §4.2). */
export const ICMP6_ROUTER_ADVERT = 134;
const RA_CODE = 0;
/** Fixed part: type, code, checksum, cur hop limit, flags, router lifetime, reachable, retrans. */
const RA_HEADER_LEN = 16;
const OFF_TYPE = 0;
const OFF_CODE = 1;
const OFF_CUR_HOP_LIMIT = 4;
const OFF_FLAGS = 5;
const OFF_ROUTER_LIFETIME = 6;
const OFF_REACHABLE_TIME = 8;
const OFF_RETRANS_TIMER = 12;
const FLAG_MANAGED = 0x80;
const FLAG_OTHER = 0x40;
/** ND options are measured in units of 8 octets (§4.6). */
const OPTION_UNIT = 8;
const OPT_SOURCE_LINK_LAYER = 1;
const MAC_LEN = 6;
const LINK_LOCAL_RE = /^fe[89ab][0-9a-f]:/i;

export interface RouterAdvertisement {
  /** Hop limit hosts should use; 0: unspecified. */
  curHopLimit: number;
  managed: boolean;
  other: boolean;
  /** Seconds as a default router; 0: not a default router (§6.2.1). */
  routerLifetime: number;
  reachableTimeMs: number;
  retransTimerMs: number;
  /** Source link-layer address option ('aa:bb:cc:dd:ee:ff'), or null. */
  sourceLinkLayer: string | null;
}

/** Why a received message is not a valid Router Advertisement (§6.1.2), named for logs. */
export type RaInvalid =
  | 'not-router-advertisement'
  | 'hop-limit-not-255'
  | 'source-not-link-local'
  | 'bad-code'
  | 'too-short'
  | 'bad-option-length';

export function isLinkLocal6(address: string): boolean {
  return isIP(address) === 6 && LINK_LOCAL_RE.test(address);
}

function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== MAC_LEN || parts.some((p) => !/^[0-9a-f]{2}$/i.test(p))) {
    throw new RangeError(`not a MAC address: ${mac}`);
  }
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

/** The ICMPv6 message of a Router Advertisement (checksum zero: the kernel computes it). */
export function encodeRouterAdvertisement(ra: RouterAdvertisement): Buffer {
  const options: Buffer[] = [];
  if (ra.sourceLinkLayer !== null) {
    const opt = Buffer.alloc(OPTION_UNIT);
    opt.writeUInt8(OPT_SOURCE_LINK_LAYER, 0);
    opt.writeUInt8(1, 1);
    macBytes(ra.sourceLinkLayer).copy(opt, 2);
    options.push(opt);
  }
  const head = Buffer.alloc(RA_HEADER_LEN);
  head.writeUInt8(ICMP6_ROUTER_ADVERT, OFF_TYPE);
  head.writeUInt8(RA_CODE, OFF_CODE);
  head.writeUInt8(ra.curHopLimit, OFF_CUR_HOP_LIMIT);
  head.writeUInt8((ra.managed ? FLAG_MANAGED : 0) | (ra.other ? FLAG_OTHER : 0), OFF_FLAGS);
  head.writeUInt16BE(ra.routerLifetime, OFF_ROUTER_LIFETIME);
  head.writeUInt32BE(ra.reachableTimeMs, OFF_REACHABLE_TIME);
  head.writeUInt32BE(ra.retransTimerMs, OFF_RETRANS_TIMER);
  return Buffer.concat([head, ...options]);
}

function formatMac(b: Buffer): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * A received message as a Router Advertisement, or the §6.1.2 reason it must be discarded.
 * `hopLimit` is the IPv6 hop limit it arrived with (-1 when the socket could not tell: not checked).
 */
export function decodeRouterAdvertisement(
  data: Buffer,
  from: string,
  hopLimit: number,
): RouterAdvertisement | RaInvalid {
  if (data.length < 1 || data.readUInt8(OFF_TYPE) !== ICMP6_ROUTER_ADVERT) return 'not-router-advertisement';
  if (hopLimit >= 0 && hopLimit !== ND_HOP_LIMIT) return 'hop-limit-not-255';
  if (!isLinkLocal6(from)) return 'source-not-link-local';
  if (data.length < RA_HEADER_LEN) return 'too-short';
  if (data.readUInt8(OFF_CODE) !== RA_CODE) return 'bad-code';
  let sourceLinkLayer: string | null = null;
  for (let off = RA_HEADER_LEN; off < data.length; ) {
    if (off + 2 > data.length) return 'bad-option-length';
    const type = data.readUInt8(off);
    const len = data.readUInt8(off + 1) * OPTION_UNIT;
    if (len === 0 || off + len > data.length) return 'bad-option-length';
    if (type === OPT_SOURCE_LINK_LAYER && len >= 2 + MAC_LEN) {
      sourceLinkLayer = formatMac(data.subarray(off + 2, off + 2 + MAC_LEN));
    }
    off += len;
  }
  const flags = data.readUInt8(OFF_FLAGS);
  return {
    curHopLimit: data.readUInt8(OFF_CUR_HOP_LIMIT),
    managed: (flags & FLAG_MANAGED) !== 0,
    other: (flags & FLAG_OTHER) !== 0,
    routerLifetime: data.readUInt16BE(OFF_ROUTER_LIFETIME),
    reachableTimeMs: data.readUInt32BE(OFF_REACHABLE_TIME),
    retransTimerMs: data.readUInt32BE(OFF_RETRANS_TIMER),
    sourceLinkLayer,
  };
}
