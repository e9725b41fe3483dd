// Reusable zod field schemas for the config file: strict objects that list their allowed keys in the
// error, IP addresses per family, prefixes, durations, AS numbers (RFC 6793, 4-octet), BGP communities
// (RFC 1997) and large communities (RFC 8092). Each custom failure's message is the "expected" text;
// src/config/issues.ts adds what was found and where.

import { isIPv4, isIPv6 } from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.js';

export const MAX_ASN = 0xffff_ffff;
export const MAX_PORT = 65_535;
const MAX_U16 = 0xffff;
const IPV4_BITS = 32;
const IPV6_BITS = 128;

/** A strict object: an unknown key is an error whose message lists the allowed keys. */
export function strict<S extends z.ZodRawShape>(shape: S) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `one of the keys: ${allowed}` : undefined),
  });
}

/** A schema of strings checked and mapped by `fn`, which returns undefined on failure. */
export function mapped<T>(expected: string, fn: (v: string) => T | undefined) {
  return z.string({ error: expected }).transform((v, ctx): T => {
    const out = fn(v);
    if (out === undefined) {
      ctx.issues.push({ code: 'custom', message: expected, input: v });
      return z.NEVER;
    }
    return out;
  });
}

/** Canonical text of an IPv6 address (lower case, zeros compressed as the URL parser does). */
export function canonicalIPv6(addr: string): string {
  return new URL(`http://[${addr}]/`).hostname.slice(1, -1);
}

/** Canonical form of an IPv4 or IPv6 address, or undefined. */
export function canonicalIp(addr: string): string | undefined {
  if (isIPv4(addr)) return addr;
  if (isIPv6(addr) && !addr.includes('%')) return canonicalIPv6(addr);
  return undefined;
}

export const ipv4 = () => mapped('an IPv4 address', (v) => (isIPv4(v) ? v : undefined));
export const ipv6 = () =>
  mapped('an IPv6 address', (v) => (isIPv6(v) && !v.includes('%') ? canonicalIPv6(v) : undefined));
export const ipAddress = () => mapped('an IPv4 or IPv6 address', canonicalIp);

export const duration = () =>
  mapped('a duration such as "250ms", "2s" or "1m"', (v) => parseDuration(v) ?? undefined);

export const int = (min: number, max: number) => z.number().int().min(min).max(max);
export const asn = () => int(1, MAX_ASN);
export const port = () => int(1, MAX_PORT);

const COMMUNITY_RE = /^(\d+):(\d+)$/;
const LARGE_COMMUNITY_RE = /^(\d+):(\d+):(\d+)$/;

export const community = () =>
  mapped('a community "ASN:VALUE" with two 16-bit numbers', (v) => {
    const m = COMMUNITY_RE.exec(v);
    return m && Number(m[1]) <= MAX_U16 && Number(m[2]) <= MAX_U16 ? v : undefined;
  });

export const largeCommunity = () =>
  mapped('a large community "ASN:DATA1:DATA2" with three 32-bit numbers', (v) => {
    const m = LARGE_COMMUNITY_RE.exec(v);
    return m?.slice(1).every((n) => Number(n) <= MAX_ASN) ? v : undefined;
  });

/** A parsed prefix; the address part is canonical and has no host bits set. */
export interface Prefix {
  prefix: string;
  family: 4 | 6;
  length: number;
}

/** Parses "192.0.2.0/24" or "2001:db8::/32"; undefined if malformed or host bits are set. */
export function parsePrefix(text: string): Prefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const addr = canonicalIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (addr === undefined || !/^\d{1,3}$/.test(lenText)) return undefined;
  const family = isIPv4(addr) ? 4 : 6;
  const length = Number(lenText);
  if (length > (family === 4 ? IPV4_BITS : IPV6_BITS)) return undefined;
  if (!hostBitsClear(addr, family, length)) return undefined;
  return { prefix: `${addr}/${length}`, family, length };
}

function hostBitsClear(addr: string, family: 4 | 6, length: number): boolean {
  const bits = family === 4 ? ipv4Bits(addr) : ipv6Bits(addr);
  return bits.slice(length).every((b) => b === 0);
}

function ipv4Bits(addr: string): number[] {
  return addr.split('.').flatMap((o) => byteBits(Number(o), 8));
}

function ipv6Bits(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => byteBits(Number.parseInt(g, 16), 16));
}

function byteBits(value: number, width: number): number[] {
  return Array.from({ length: width }, (_, i) => (value >> (width - 1 - i)) & 1);
}

export const prefix = () => mapped('a prefix such as "192.0.2.0/24" (no host bits set)', parsePrefix);
