// A minimal DNS message codec for the DNS health check: one question (A or AAAA, class IN) with
// recursion desired, and the answer section's A/AAAA records of a response. RFC 1035 §4.1 (header,
// question, resource records, name compression §4.1.4), RFC 3596 (AAAA).

import { isIPv4 } from 'node:net';

export const DNS_HEADER_LEN = 12;
export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;
const FLAG_QR = 0x8000;
const FLAG_RD = 0x0100;
const RCODE_MASK = 0x000f;
const POINTER_MASK = 0xc0;
const MAX_LABEL = 63;
const A_LEN = 4;
const AAAA_LEN = 16;
const FIXED_RR_LEN = 10; // type, class, ttl, rdlength

export interface DnsAnswer {
  id: number;
  isResponse: boolean;
  rcode: number;
  /** Addresses of the A / AAAA records of the answer section, in text form. */
  addresses: string[];
}

function encodeName(name: string): Buffer {
  const labels = name
    .replace(/\.$/, '')
    .split('.')
    .filter((l) => l.length > 0);
  const parts = labels.map((l) => {
    const b = Buffer.from(l, 'ascii');
    if (b.length > MAX_LABEL) throw new RangeError(`DNS label longer than ${MAX_LABEL}: ${l}`);
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

/** A query for `name` of type `qtype` (TYPE_A / TYPE_AAAA), class IN, RD set. */
export function encodeQuery(id: number, name: string, qtype: number): Buffer {
  const header = Buffer.alloc(DNS_HEADER_LEN);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(FLAG_RD, 2);
  header.writeUInt16BE(1, 4); // QDCOUNT
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(qtype, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

/** Offset just past the (possibly compressed) name starting at `off`. */
function skipName(buf: Buffer, off: number): number {
  let o = off;
  for (;;) {
    if (o >= buf.length) throw new RangeError('DNS name runs past the message');
    const len = buf[o]!;
    if ((len & POINTER_MASK) === POINTER_MASK) return o + 2;
    if (len === 0) return o + 1;
    o += 1 + len;
  }
}

function addressText(rdata: Buffer): string {
  if (rdata.length === A_LEN) return Array.from(rdata).join('.');
  const groups: string[] = [];
  for (let i = 0; i < AAAA_LEN; i += 2) groups.push(rdata.readUInt16BE(i).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Parses a response; throws RangeError on a truncated or malformed message. */
export function decodeResponse(buf: Buffer): DnsAnswer {
  if (buf.length < DNS_HEADER_LEN) throw new RangeError('DNS message shorter than its header');
  const flags = buf.readUInt16BE(2);
  const qdcount = buf.readUInt16BE(4);
  const ancount = buf.readUInt16BE(6);
  let off = DNS_HEADER_LEN;
  for (let i = 0; i < qdcount; i++) off = skipName(buf, off) + 4;
  const addresses: string[] = [];
  for (let i = 0; i < ancount; i++) {
    off = skipName(buf, off);
    if (off + FIXED_RR_LEN > buf.length) throw new RangeError('DNS record runs past the message');
    const type = buf.readUInt16BE(off);
    const cls = buf.readUInt16BE(off + 2);
    const rdlen = buf.readUInt16BE(off + 8);
    off += FIXED_RR_LEN;
    if (off + rdlen > buf.length) throw new RangeError('DNS rdata runs past the message');
    const rdata = buf.subarray(off, off + rdlen);
    if (
      cls === CLASS_IN &&
      ((type === TYPE_A && rdlen === A_LEN) || (type === TYPE_AAAA && rdlen === AAAA_LEN))
    )
      addresses.push(addressText(rdata));
    off += rdlen;
  }
  return {
    id: buf.readUInt16BE(0),
    isResponse: (flags & FLAG_QR) !== 0,
    rcode: flags & RCODE_MASK,
    addresses,
  };
}

/**
 * Canonical text of an address for comparing with a response (IPv6 compressed, lower case); what a URL
 * cannot hold (a zone index, not an address at all) is only lower-cased, never thrown on.
 */
export function canonicalAddress(addr: string): string {
  if (isIPv4(addr)) return addr;
  try {
    return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
  } catch {
    return addr.toLowerCase();
  }
}
