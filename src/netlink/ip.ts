// IP addresses and prefixes as text <-> bytes (network order) for netlink and socket structures.
// IPv6 text follows RFC 5952 (lower case, longest zero run compressed); IPv4-in-IPv6 text forms
// (::ffff:192.0.2.1) are accepted on input.
import net from 'node:net';
import { AnycastdError } from '../errors.js';

export type IpFamily = 4 | 6;

/** sys/socket.h address families of IPv4 and IPv6. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** An IPv4-mapped IPv6 address as a dual-stack socket reports it (`::ffff:192.0.2.1`) → `192.0.2.1`;
 * any other address unchanged. */
export function unmappedV4(address: string): string {
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : '';
  return net.isIPv4(v4) ? v4 : address;
}

/**
 * A socket's remote or local address as the config writes it: the IPv6 zone dropped (`fe80::1%up1` →
 * `fe80::1`) and an IPv4-mapped address unwrapped; '' for none.
 */
export function socketAddress(address: string | undefined): string {
  return unmappedV4((address ?? '').split('%')[0]!);
}

/** The AF_* number of an IP family. */
export const afOf = (family: IpFamily): number => (family === 4 ? AF_INET : AF_INET6);

/** The IP family of an AF_* number, or undefined for other families. */
export function familyOfAf(af: number): IpFamily | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

export interface IpAddress {
  family: IpFamily;
  bytes: Buffer;
}

export interface IpPrefix extends IpAddress {
  length: number;
}

const IPV4_BYTES = 4;
const IPV6_GROUPS = 8;

function invalid(text: string, what = 'IP address'): AnycastdError {
  return new AnycastdError('ERR_INVALID_ARGUMENT', `not an ${what}: ${text}`);
}

function parseV4(text: string, out: Buffer, offset: number): void {
  text.split('.').forEach((part, i) => {
    out[offset + i] = Number(part);
  });
}

/** Parses an IPv4 or IPv6 address (a %zone suffix is ignored). */
export function parseIp(text: string): IpAddress {
  const addr = text.split('%')[0] ?? '';
  const family = net.isIP(addr);
  if (family === 4) {
    const bytes = Buffer.alloc(IPV4_BYTES);
    parseV4(addr, bytes, 0);
    return { family, bytes };
  }
  if (family !== 6) throw invalid(text);
  const [head = '', tail] = addr.split('::');
  const headWords = v6Words(head);
  const tailWords = tail === undefined ? [] : v6Words(tail);
  const zeros: number[] = Array(IPV6_GROUPS - headWords.length - tailWords.length).fill(0);
  const bytes = Buffer.alloc(16);
  [...headWords, ...zeros, ...tailWords].forEach((w, i) => {
    bytes.writeUInt16BE(w, i * 2);
  });
  return { family, bytes };
}

/** 16-bit words of a colon-separated IPv6 fragment (a trailing dotted quad gives two words). */
function v6Words(part: string): number[] {
  if (part === '') return [];
  return part.split(':').flatMap((g) => {
    if (!g.includes('.')) return [Number.parseInt(g, 16)];
    const v4 = Buffer.alloc(IPV4_BYTES);
    parseV4(g, v4, 0);
    return [v4.readUInt16BE(0), v4.readUInt16BE(2)];
  });
}

/** Formats 4 or 16 network-order bytes as text. */
export function formatIp(bytes: Buffer): string {
  if (bytes.length === IPV4_BYTES) return Array.from(bytes).join('.');
  if (bytes.length !== 16)
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `an address has 4 or 16 bytes, not ${bytes.length}`);
  const words = Array.from({ length: IPV6_GROUPS }, (_, i) => bytes.readUInt16BE(i * 2));
  // The longest run of two or more zero groups (the first one on a tie) becomes '::'.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < IPV6_GROUPS; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < IPV6_GROUPS && words[j] === 0) j++;
    if (j - i > best.len && j - i >= 2) best = { start: i, len: j - i };
    i = j;
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':');
  if (best.start < 0) return hex(words);
  return `${hex(words.slice(0, best.start))}::${hex(words.slice(best.start + best.len))}`;
}

/** Parses 'address/length' (a bare address is a host prefix). */
export function parsePrefix(text: string): IpPrefix {
  const [addr = '', len] = text.split('/');
  const ip = parseIp(addr);
  const max = ip.family === 4 ? 32 : 128;
  const length = len === undefined ? max : Number(len);
  if (!Number.isInteger(length) || length < 0 || length > max || (len !== undefined && !/^\d+$/.test(len))) {
    throw invalid(text, 'IP prefix');
  }
  return { ...ip, length };
}

/** 'address/length' text of a prefix. */
export function formatPrefix(p: { bytes: Buffer; length: number }): string {
  return `${formatIp(p.bytes)}/${p.length}`;
}
