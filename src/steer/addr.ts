// IP address text ↔ the 16-byte form of bpf/steer.h (IPv4 in the first 4 bytes, the rest zero;
// IPv6 in RFC 4291 text form, "::" compression and an embedded dotted quad accepted).
import { isIPv4, isIPv6 } from 'node:net';
import { AnycastdError } from '../errors.js';

export type Family = 4 | 6;

/** The 4 network-order bytes of an IPv4 address. */
export function ipv4Bytes(text: string): Buffer {
  if (!isIPv4(text)) throw new AnycastdError('ERR_INVALID_ARGUMENT', `not an IPv4 address: ${text}`);
  return Buffer.from(text.split('.').map(Number));
}

/** The 16 network-order bytes of an IPv6 address. */
export function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text)) throw new AnycastdError('ERR_INVALID_ARGUMENT', `not an IPv6 address: ${text}`);
  let groups = text;
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':') + 1;
    const v4 = ipv4Bytes(text.slice(cut));
    groups = `${text.slice(0, cut)}${v4.readUInt16BE(0).toString(16)}:${v4.readUInt16BE(2).toString(16)}`;
  }
  const parse = (s: string): number[] => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const [head = '', rest] = groups.split('::');
  const h = parse(head);
  const r = rest === undefined ? [] : parse(rest);
  const words = rest === undefined ? h : [...h, ...new Array<number>(8 - h.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  for (const [i, w] of words.entries()) out.writeUInt16BE(w, i * 2);
  return out;
}

/** The family of an address text. */
export function familyOf(text: string): Family {
  if (isIPv4(text)) return 4;
  if (isIPv6(text)) return 6;
  throw new AnycastdError('ERR_INVALID_ARGUMENT', `not an IP address: ${text}`);
}

/** The 16-byte steer.h form of an address of either family. */
export function addr16(text: string): Buffer {
  const out = Buffer.alloc(16);
  (familyOf(text) === 4 ? ipv4Bytes(text) : ipv6Bytes(text)).copy(out);
  return out;
}
