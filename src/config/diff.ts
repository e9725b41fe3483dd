// What changed between two valid configs, so a reload applies only the difference: peers and services
// added, removed or changed (matched by name), and for a changed peer whether its session must be reset,
// for a changed service whether its Maglev ring must be rebuilt. An unchanged service or peer is absent
// from the diff and must not be touched.

import type { Config, PeerConfig, ServiceConfig } from './types.js';

export interface Change<T> {
  name: string;
  before: T;
  after: T;
  /** Changed fields, by their names in types.ts. */
  fields: string[];
}

export interface PeerChange extends Change<PeerConfig> {
  /** False when only import/export policy or max-prefix changed (route refresh / re-advertise, no flap). */
  resetSession: boolean;
}

export interface ServiceChange extends Change<ServiceConfig> {
  /** The instance set, their weights, the VIPs or ports changed: rebuild this service's rings. */
  ringChanged: boolean;
  /** The checks changed: restart this service's checkers. */
  checksChanged: boolean;
}

export interface ConfigDiff {
  /** Changed fields of `node`; any change here needs a restart (the identity of the speaker). */
  node: string[];
  peers: { added: PeerConfig[]; removed: PeerConfig[]; changed: PeerChange[] };
  services: { added: ServiceConfig[]; removed: ServiceConfig[]; changed: ServiceChange[] };
  kernelRoute: boolean;
  metrics: boolean;
  api: boolean;
  /** The cluster endpoint's settings changed (applied in place: the endpoint is restarted). */
  cluster: boolean;
  /** Changed fields of `dataplane` (a ring size change rebuilds every ring). */
  dataplane: string[];
  empty: boolean;
}

/** Peer fields whose change needs no session reset. */
const PEER_POLICY_FIELDS: ReadonlySet<string> = new Set([
  'importAccept',
  'exportCommunities',
  'exportLargeCommunities',
  'maxPrefix',
]);
const RING_FIELDS: ReadonlySet<string> = new Set(['instances', 'vips', 'ports']);

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** Names of the top-level fields that differ. */
export function changedFields<T extends object>(a: T, b: T): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(
    (k) => !deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

/** A service as the rings see it: instance order in the file does not matter (rings sort by id). */
function ringView(s: ServiceConfig): ServiceConfig {
  return { ...s, instances: [...s.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
}

function diffNamed<T extends { name: string }>(before: T[], after: T[]) {
  const old = new Map(before.map((x) => [x.name, x]));
  const neu = new Map(after.map((x) => [x.name, x]));
  const added = after.filter((x) => !old.has(x.name));
  const removed = before.filter((x) => !neu.has(x.name));
  const changed: Change<T>[] = [];
  for (const a of after) {
    const b = old.get(a.name);
    const fields = b ? changedFields(b, a) : [];
    if (b && fields.length > 0) changed.push({ name: a.name, before: b, after: a, fields });
  }
  return { added, removed, changed };
}

export function diffConfig(before: Config, after: Config): ConfigDiff {
  const peers = diffNamed(before.peers, after.peers);
  const services = diffNamed(before.services.map(ringView), after.services.map(ringView));
  const diff: ConfigDiff = {
    node: changedFields(before.node, after.node),
    peers: {
      ...peers,
      changed: peers.changed.map((c) => ({
        ...c,
        resetSession: c.fields.some((f) => !PEER_POLICY_FIELDS.has(f)),
      })),
    },
    services: {
      ...services,
      changed: services.changed.map((c) => ({
        ...c,
        ringChanged: c.fields.some((f) => RING_FIELDS.has(f)),
        checksChanged: c.fields.includes('checks'),
      })),
    },
    kernelRoute: !deepEqual(before.kernelRoute, after.kernelRoute),
    metrics: !deepEqual(before.metrics, after.metrics),
    api: !deepEqual(before.api, after.api),
    cluster: !deepEqual(before.cluster, after.cluster),
    dataplane: changedFields(before.dataplane, after.dataplane),
    empty: false,
  };
  diff.empty =
    diff.node.length === 0 &&
    [peers, services].every((d) => d.added.length + d.removed.length + d.changed.length === 0) &&
    !diff.kernelRoute &&
    !diff.metrics &&
    !diff.api &&
    !diff.cluster &&
    diff.dataplane.length === 0;
  return diff;
}
