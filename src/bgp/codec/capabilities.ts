// BGP capabilities carried in the OPEN optional parameter 2 (RFC 5492): multiprotocol (RFC 4760),
// route refresh (RFC 2918) and enhanced route refresh (RFC 7313), graceful restart (RFC 4724, parsed
// for a helper), 4-octet AS (RFC 6793), extended next hop (RFC 8950). Unknown ones are kept as raw
// octets so they can be logged or echoed. A capability whose value has the wrong size is an OPEN error.

import { Reader, Writer } from './buffer.js';
import { type AfiCode, CapabilityCode, ErrorCode, OpenSubcode } from './constants.js';
import { type BgpCodecError, fatal } from './errors.js';

export interface AfiSafi {
  afi: number;
  safi: number;
}

export type Capability =
  | ({ kind: 'multiprotocol' } & AfiSafi)
  | { kind: 'route-refresh' }
  | { kind: 'enhanced-route-refresh' }
  | { kind: 'four-octet-as'; asn: number }
  | {
      kind: 'graceful-restart';
      /** R bit: the sender has restarted. */
      restarting: boolean;
      /** N bit (RFC 8538): the sender supports graceful NOTIFICATION. */
      notification: boolean;
      /** Restart time in seconds (12 bits). */
      time: number;
      families: (AfiSafi & { forwardingPreserved: boolean })[];
    }
  | { kind: 'extended-next-hop'; entries: (AfiSafi & { nextHopAfi: AfiCode | number })[] }
  | { kind: 'unknown'; code: number; value: Buffer };

const GR_RESTART_FLAG = 0x8;
const GR_NOTIFICATION_FLAG = 0x4;
const GR_TIME_MASK = 0xfff;
const GR_FORWARDING_FLAG = 0x80;
const MP_LEN = 4;
const AS4_LEN = 4;
const GR_HEAD_LEN = 2;
const GR_FAMILY_LEN = 4;
const ENH_ENTRY_LEN = 6;

function bad(reason: string): BgpCodecError {
  return fatal(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, reason);
}

function decodeOne(code: number, value: Buffer): Capability {
  const r = new Reader(value, () => bad('capability-truncated'));
  const exact = (n: number): void => {
    if (value.length !== n) throw bad(`capability-${code}-bad-length`);
  };
  const multiple = (head: number, n: number): void => {
    if (value.length < head || (value.length - head) % n !== 0) throw bad(`capability-${code}-bad-length`);
  };
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL: {
      exact(MP_LEN);
      const afi = r.u16();
      r.u8(); // reserved
      return { kind: 'multiprotocol', afi, safi: r.u8() };
    }
    case CapabilityCode.ROUTE_REFRESH:
      exact(0);
      return { kind: 'route-refresh' };
    case CapabilityCode.ENHANCED_ROUTE_REFRESH:
      exact(0);
      return { kind: 'enhanced-route-refresh' };
    case CapabilityCode.FOUR_OCTET_AS:
      exact(AS4_LEN);
      return { kind: 'four-octet-as', asn: r.u32() };
    case CapabilityCode.GRACEFUL_RESTART: {
      multiple(GR_HEAD_LEN, GR_FAMILY_LEN);
      const head = r.u16();
      const families = [];
      while (r.remaining > 0) {
        const afi = r.u16();
        const safi = r.u8();
        families.push({ afi, safi, forwardingPreserved: (r.u8() & GR_FORWARDING_FLAG) !== 0 });
      }
      return {
        kind: 'graceful-restart',
        restarting: ((head >> 12) & GR_RESTART_FLAG) !== 0,
        notification: ((head >> 12) & GR_NOTIFICATION_FLAG) !== 0,
        time: head & GR_TIME_MASK,
        families,
      };
    }
    case CapabilityCode.EXTENDED_NEXT_HOP: {
      multiple(0, ENH_ENTRY_LEN);
      const entries = [];
      while (r.remaining > 0) entries.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
      return { kind: 'extended-next-hop', entries };
    }
    default:
      return { kind: 'unknown', code, value: Buffer.from(value) };
  }
}

/** Decode the capability TLVs of one optional parameter value. */
export function decodeCapabilities(value: Buffer): Capability[] {
  const r = new Reader(value, () => bad('capability-truncated'));
  const out: Capability[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    const len = r.u8();
    out.push(decodeOne(code, r.bytes(len)));
  }
  return out;
}

function encodeValue(c: Capability, w: Writer): number {
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi).u8(0).u8(c.safi);
      return CapabilityCode.MULTIPROTOCOL;
    case 'route-refresh':
      return CapabilityCode.ROUTE_REFRESH;
    case 'enhanced-route-refresh':
      return CapabilityCode.ENHANCED_ROUTE_REFRESH;
    case 'four-octet-as':
      w.u32(c.asn);
      return CapabilityCode.FOUR_OCTET_AS;
    case 'graceful-restart': {
      const flags = (c.restarting ? GR_RESTART_FLAG : 0) | (c.notification ? GR_NOTIFICATION_FLAG : 0);
      w.u16((flags << 12) | (c.time & GR_TIME_MASK));
      for (const f of c.families)
        w.u16(f.afi)
          .u8(f.safi)
          .u8(f.forwardingPreserved ? GR_FORWARDING_FLAG : 0);
      return CapabilityCode.GRACEFUL_RESTART;
    }
    case 'extended-next-hop':
      for (const e of c.entries) w.u16(e.afi).u16(e.safi).u16(e.nextHopAfi);
      return CapabilityCode.EXTENDED_NEXT_HOP;
    case 'unknown':
      w.bytes(c.value);
      return c.code;
  }
}

/** Encode one capability TLV. */
export function encodeCapability(c: Capability): Buffer {
  const value = new Writer();
  const code = encodeValue(c, value);
  const body = value.finish();
  return new Writer().u8(code).u8(body.length).bytes(body).finish();
}

/** Convenience lookups over a peer's capability list. */
export function findCapability<K extends Capability['kind']>(
  caps: readonly Capability[],
  kind: K,
): Extract<Capability, { kind: K }> | undefined {
  return caps.find((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

export function hasFamily(caps: readonly Capability[], afi: number, safi: number): boolean {
  return caps.some((c) => c.kind === 'multiprotocol' && c.afi === afi && c.safi === safi);
}

const CODE_OF_KIND: Record<Exclude<Capability['kind'], 'unknown'>, number> = {
  multiprotocol: CapabilityCode.MULTIPROTOCOL,
  'route-refresh': CapabilityCode.ROUTE_REFRESH,
  'enhanced-route-refresh': CapabilityCode.ENHANCED_ROUTE_REFRESH,
  'four-octet-as': CapabilityCode.FOUR_OCTET_AS,
  'graceful-restart': CapabilityCode.GRACEFUL_RESTART,
  'extended-next-hop': CapabilityCode.EXTENDED_NEXT_HOP,
};

/** The IANA capability code of a decoded capability. */
export function capabilityCode(c: Capability): number {
  return c.kind === 'unknown' ? c.code : CODE_OF_KIND[c.kind];
}
