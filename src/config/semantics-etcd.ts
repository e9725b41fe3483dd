// Cross-field rules of the etcd backend: `cluster.etcd` is there exactly when `cluster.backend` is etcd;
// mutual TLS goes with https:// endpoints and plain gRPC only with loopback ones (state from the other
// agents is authenticated: DESIGN.md, trust boundaries); the lease TTL is whole seconds within bounds
// (etcd's leases count seconds); the ids that become key parts (node id, instance ids) are key-safe.
// In etcd mode a service's instance list may be omitted: its local instance is then this node — id
// node.id, the host addresses, weight 1 (applied by semantics.ts).

import type { Report } from './semantics.js';
import type { Config } from './types.js';

/** Lease TTL bounds: below 3 s a loaded etcd's elections drop leases; above 5 min a dead host lingers. */
export const MIN_LEASE_TTL_MS = 3_000;
export const MAX_LEASE_TTL_MS = 300_000;
const MS_PER_S = 1000;
/** An id that becomes one part of an etcd key. */
export const KEY_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const KEY_ID_EXPECTED = 'an id of letters, digits, ".", "_" and "-" (at most 63; it is part of an etcd key)';
const LOOPBACK_RE = /^(?:https?:\/\/)(?:127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/;

export function checkEtcd(cfg: Config, report: Report): void {
  const c = cfg.cluster;
  if (c.backend !== 'etcd') {
    if (c.etcd !== null) report(['cluster', 'etcd'], 'no etcd section (cluster.backend is mesh)');
    return;
  }
  const e = c.etcd;
  if (e === null) {
    report(['cluster', 'etcd'], 'the etcd settings (endpoints, prefix): cluster.backend is etcd');
    return;
  }
  const scheme = e.tls ? 'https://' : 'http://';
  e.endpoints.forEach((url, i) => {
    if (!url.startsWith(scheme))
      report(
        ['cluster', 'etcd', 'endpoints', i],
        e.tls ? 'an https:// endpoint (tls is set)' : 'an http:// endpoint (no tls is set)',
        url,
      );
    else if (!e.tls && !LOOPBACK_RE.test(url))
      report(
        ['cluster', 'etcd', 'tls'],
        'mutual TLS (ca_file, cert_file, key_file): plain gRPC is allowed to loopback endpoints only',
        url,
      );
  });
  if (e.leaseTtlMs % MS_PER_S !== 0 || e.leaseTtlMs < MIN_LEASE_TTL_MS || e.leaseTtlMs > MAX_LEASE_TTL_MS)
    report(['cluster', 'etcd', 'lease_ttl'], 'whole seconds from 3s to 5m', `${e.leaseTtlMs}ms`);
  if (!KEY_ID_RE.test(cfg.node.id)) report(['node', 'id'], KEY_ID_EXPECTED, cfg.node.id);
  cfg.services.forEach((s, i) => {
    s.instances.forEach((inst, j) => {
      if (!KEY_ID_RE.test(inst.id)) report(['services', i, 'instances', j, 'id'], KEY_ID_EXPECTED, inst.id);
    });
  });
}
