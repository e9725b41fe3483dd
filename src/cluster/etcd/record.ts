// The value of an instance key (keys.ts) — what its agent says of it — and of a drain key, as JSON, and
// their validation. Every value read is hostile: at most MAX_VALUE_BYTES, a JSON object whose fields have
// the types and bounds below (unknown fields are ignored, so a newer agent may add some), and whose node
// and host addresses are well formed. A bad value is never applied and never throws: parse returns the
// reason, the reader skips the key and counts it.
//
// Instance record: {"node","host":{"ipv4","ipv6"},"weight","state":"up|drained|failed","new","established"}
//   state: the instance's health as its own agent judges it; new/established: whether that agent's rings
//   hold it (the other agents' rings follow, so every host builds the same ones).
// Drain record: {"by": <node that wrote it>} — present means drained.

import { isIPv4, isIPv6 } from 'node:net';
import type { AddressPair } from '../../config/types.js';
import { MAX_VALUE_BYTES, MAX_WEIGHT } from './limits.js';

export type RegisteredState = 'up' | 'drained' | 'failed';
const STATES: readonly RegisteredState[] = ['up', 'drained', 'failed'];
const NODE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export interface InstanceRecord {
  node: string;
  host: AddressPair;
  weight: number;
  state: RegisteredState;
  new: boolean;
  established: boolean;
}

export interface DrainRecord {
  by: string;
}

/** Why a value was skipped (the metric's reason). */
export type BadValue = 'too-big' | 'not-json' | 'invalid';
/** Why a reader skipped a key: its value, a key that does not parse, or one past the per-service bound. */
export type SkipReason = BadValue | 'bad-key' | 'too-many';
export const SKIP_REASONS: readonly SkipReason[] = ['too-big', 'not-json', 'invalid', 'bad-key', 'too-many'];

/** The record's own fields (none of a wider object's), in one order. */
export const recordFields = (r: InstanceRecord): InstanceRecord => ({
  node: r.node,
  host: { ipv4: r.host.ipv4, ipv6: r.host.ipv6 },
  weight: r.weight,
  state: r.state,
  new: r.new,
  established: r.established,
});

/** The stored form: the fields in one order, so equal records are equal strings (a change test). */
export function encodeRecord(r: InstanceRecord): string {
  return JSON.stringify(recordFields(r));
}

export function encodeDrain(d: DrainRecord): string {
  return JSON.stringify({ by: d.by });
}

function decode(bytes: Buffer): Record<string, unknown> | BadValue {
  if (bytes.length > MAX_VALUE_BYTES) return 'too-big';
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'not-json';
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : 'invalid';
}

const address = (v: unknown, check: (a: string) => boolean): string | null | undefined =>
  v === null || v === undefined
    ? null
    : typeof v === 'string' && check(v) && !v.includes('%')
      ? v
      : undefined;

/** An instance record, or why it is not one. */
export function parseRecord(bytes: Buffer): InstanceRecord | BadValue {
  const o = decode(bytes);
  return typeof o === 'string' ? o : recordOf(o);
}

/** An instance record from a decoded JSON object (a stored value, or a cached one), or 'invalid'. */
export function recordOf(o: Record<string, unknown>): InstanceRecord | 'invalid' {
  const h = o.host;
  if (typeof h !== 'object' || h === null) return 'invalid';
  const ipv4 = address((h as Record<string, unknown>).ipv4, isIPv4);
  const ipv6 = address((h as Record<string, unknown>).ipv6, isIPv6);
  if (ipv4 === undefined || ipv6 === undefined || (ipv4 === null && ipv6 === null)) return 'invalid';
  if (typeof o.node !== 'string' || !NODE_RE.test(o.node)) return 'invalid';
  if (!Number.isInteger(o.weight) || (o.weight as number) < 1 || (o.weight as number) > MAX_WEIGHT)
    return 'invalid';
  if (!STATES.includes(o.state as RegisteredState)) return 'invalid';
  if (typeof o.new !== 'boolean' || typeof o.established !== 'boolean') return 'invalid';
  return {
    node: o.node,
    host: { ipv4, ipv6 },
    weight: o.weight as number,
    state: o.state as RegisteredState,
    new: o.new,
    established: o.established,
  };
}

/** A drain record, or why it is not one. */
export function parseDrain(bytes: Buffer): DrainRecord | BadValue {
  const o = decode(bytes);
  if (typeof o === 'string') return o;
  return typeof o.by === 'string' && NODE_RE.test(o.by) ? { by: o.by } : 'invalid';
}
