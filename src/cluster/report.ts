// What one agent tells the others about its local instances (a drain must be seen by every
// host, not only the drained one): per service, the instance's own health as its agent judges it and
// whether that agent keeps it in its `new` and `established` rings. Other hosts use a report only to
// take an instance OUT (a drained instance leaves their `new` ring when it leaves its own, a failed one
// is marked failed at once); their own checks still decide whether it is up. This file is the reply body
// (JSON over HTTP, src/cluster/server.ts; signed as auth.ts says) and its validation: a bad reply names
// the field, and is dropped whole.

import { AnycastdError } from '../errors.js';
import type { ReplyRejection } from './counters.js';
import { MAX_NAME_CHARS, MAX_TOKEN_CHARS } from './limits.js';

export type ReportedState = 'up' | 'down' | 'drained';
const STATES: readonly ReportedState[] = ['up', 'down', 'drained'];

export interface InstanceReport {
  state: ReportedState;
  new: boolean;
  established: boolean;
}

export interface ReportEntry extends InstanceReport {
  service: string;
  instance: string;
}

/** A reply of GET /v1/instances. `token` changes whenever any entry changes (long-poll with `since`). */
export interface InstancesReply {
  node: string;
  token: string;
  instances: ReportEntry[];
}

export const INSTANCES_PATH = '/v1/instances';
/** How much of a bad value a message quotes. */
const MAX_SHOWN_CHARS = 64;

export function sameReport(a: InstanceReport | undefined, b: InstanceReport | undefined): boolean {
  if (!a || !b) return a === b;
  return a.state === b.state && a.new === b.new && a.established === b.established;
}

/** A peer's reply dropped without being applied, and why (the metric's reason). */
export class RejectedReply extends AnycastdError {
  readonly reason: ReplyRejection;
  constructor(reason: ReplyRejection, message: string) {
    super('ERR_CLUSTER_REPLY', message);
    this.reason = reason;
  }
}

/**
 * Checks a decoded reply from a peer: at most `maxEntries` entries (checked before any is looked at),
 * names and tokens of bounded length. Throws RejectedReply naming the first bad field.
 */
export function parseInstancesReply(
  body: unknown,
  from: string,
  maxEntries = Number.POSITIVE_INFINITY,
): InstancesReply {
  const bad = (path: string, expected: string, found: unknown): never => {
    const shown = JSON.stringify(found)?.slice(0, MAX_SHOWN_CHARS) ?? 'nothing';
    throw new RejectedReply(
      'invalid',
      `cluster reply from ${from}: ${path}: expected ${expected}, found ${shown}`,
    );
  };
  const name = (v: unknown, path: string): string =>
    typeof v === 'string' && v !== '' && v.length <= MAX_NAME_CHARS
      ? v
      : bad(path, `a non-empty string of at most ${MAX_NAME_CHARS} characters`, v);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('', 'an object', body);
  const b = body as Record<string, unknown>;
  if (typeof b.node !== 'string' || b.node.length > MAX_NAME_CHARS)
    bad('node', `a string of at most ${MAX_NAME_CHARS} characters`, b.node);
  if (typeof b.token !== 'string' || b.token === '' || b.token.length > MAX_TOKEN_CHARS)
    bad('token', `a non-empty string of at most ${MAX_TOKEN_CHARS} characters`, b.token);
  if (!Array.isArray(b.instances)) return bad('instances', 'an array', b.instances);
  if (b.instances.length > maxEntries)
    throw new RejectedReply(
      'too-many-entries',
      `cluster reply from ${from}: ${b.instances.length} entries, more than the ${maxEntries} the config can hold`,
    );
  const instances = b.instances.map((e: unknown, i): ReportEntry => {
    const at = `instances[${i}]`;
    if (typeof e !== 'object' || e === null) return bad(at, 'an object', e);
    const r = e as Record<string, unknown>;
    const service = name(r.service, `${at}.service`);
    const instance = name(r.instance, `${at}.instance`);
    if (!STATES.includes(r.state as ReportedState)) bad(`${at}.state`, STATES.join(' | '), r.state);
    for (const key of ['new', 'established'] as const)
      if (typeof r[key] !== 'boolean') bad(`${at}.${key}`, 'true or false', r[key]);
    return {
      service,
      instance,
      state: r.state as ReportedState,
      new: r.new as boolean,
      established: r.established as boolean,
    };
  });
  return { node: b.node as string, token: b.token as string, instances };
}
