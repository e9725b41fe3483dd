// What one agent tells the others about its local instances (issue 8: a drain must be seen by every
// host, not only the drained one): per service, the instance's own health as its agent judges it and
// whether that agent keeps it in its `new` and `established` rings. Other hosts use a report only to
// take an instance OUT (a drained instance leaves their `new` ring when it leaves its own, a failed one
// is marked failed at once); their own checks still decide whether it is up. This file is the wire
// format (JSON over HTTP, src/cluster/server.ts) and its validation: a bad reply names the field.

import { AnycastdError } from '../errors.js';

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

export function sameReport(a: InstanceReport | undefined, b: InstanceReport | undefined): boolean {
  if (!a || !b) return a === b;
  return a.state === b.state && a.new === b.new && a.established === b.established;
}

/** Checks a decoded reply from a peer; throws naming the first bad field. */
export function parseInstancesReply(body: unknown, from: string): InstancesReply {
  const bad = (path: string, expected: string, found: unknown): never => {
    throw new AnycastdError(
      'ERR_INVALID_ARGUMENT',
      `cluster reply from ${from}: ${path}: expected ${expected}, found ${JSON.stringify(found) ?? 'nothing'}`,
    );
  };
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('', 'an object', body);
  const b = body as Record<string, unknown>;
  if (typeof b.node !== 'string') bad('node', 'a string', b.node);
  if (typeof b.token !== 'string' || b.token === '') bad('token', 'a non-empty string', b.token);
  if (!Array.isArray(b.instances)) return bad('instances', 'an array', b.instances);
  const instances = b.instances.map((e: unknown, i): ReportEntry => {
    const at = `instances[${i}]`;
    if (typeof e !== 'object' || e === null) return bad(at, 'an object', e);
    const r = e as Record<string, unknown>;
    for (const key of ['service', 'instance'] as const)
      if (typeof r[key] !== 'string' || r[key] === '') bad(`${at}.${key}`, 'a non-empty string', r[key]);
    if (!STATES.includes(r.state as ReportedState)) bad(`${at}.state`, STATES.join(' | '), r.state);
    for (const key of ['new', 'established'] as const)
      if (typeof r[key] !== 'boolean') bad(`${at}.${key}`, 'true or false', r[key]);
    return {
      service: r.service as string,
      instance: r.instance as string,
      state: r.state as ReportedState,
      new: r.new as boolean,
      established: r.established as boolean,
    };
  });
  return { node: b.node as string, token: b.token as string, instances };
}
