// IPv4/IPv6 addresses between wire octets and text (RFC 5952 canonical form for IPv6).

import { isIPv4, isIPv6 } from 'node:net';
import { BgpEncodeError } from './errors.js';

export const IPV4_LEN = 4;
export const IPV6_LEN = 16;

export function ipv4ToString(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

export function ipv6ToString(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < IPV6_LEN; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952 §4.2: compress the longest run (first on a tie) of two or more zero groups.
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

export function ipToString(b: Uint8Array): string {
  return b.length === IPV4_LEN ? ipv4ToString(b) : ipv6ToString(b);
}

export function ipv4ToBytes(s: string): Buffer {
  if (!isIPv4(s)) throw new BgpEncodeError(`not an IPv4 address: ${s}`);
  return Buffer.from(s.split('.').map(Number));
}

export function ipv6ToBytes(s: string): Buffer {
  if (!isIPv6(s)) throw new BgpEncodeError(`not an IPv6 address: ${s}`);
  // An embedded dotted quad (::ffff:192.0.2.1) becomes its two hex groups.
  const text = s.replace(
    /(\d+)\.(\d+)\.(\d+)\.(\d+)$/,
    (_m, a, b, c, d) =>
      `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`,
  );
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const parse = (part: string | undefined): number[] =>
    part ? part.split(':').map((g) => Number.parseInt(g, 16)) : [];
  const left = parse(head);
  const right = parse(rest);
  const groups =
    rest === undefined
      ? left
      : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(IPV6_LEN);
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2);
  return out;
}

export function ipToBytes(s: string): Buffer {
  return isIPv4(s) ? ipv4ToBytes(s) : ipv6ToBytes(s);
}
