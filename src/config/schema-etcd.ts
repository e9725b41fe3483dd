// Schema of `cluster.etcd`, the etcd backend's settings (src/cluster/etcd/): the members' client URLs,
// the fabric's key prefix, the mutual-TLS files (read and checked by etcd-tls.ts at load) and the TTL of
// the lease each agent registers its instances under. Cross-field rules (TLS and the URL scheme, plain
// endpoints on loopback only, whole-second TTL bounds, backend etcd needs this section) live in
// semantics-etcd.ts.

import { isIP } from 'node:net';
import { z } from 'zod';
import { canonicalIp, duration, mapped, strict } from './fields.js';
import type { EtcdConfig } from './types.js';

export const DEFAULT_LEASE_TTL = '10s';
/** At most this many endpoints (etcd clusters have 3, 5 or 7 members). */
const MAX_ENDPOINTS = 16;
/** A prefix such as "/anycastd/fabric-1": '/'-separated words, no trailing '/'. */
const PREFIX_RE = /^(?:\/[A-Za-z0-9._-]+)+$/;
const MAX_PREFIX_CHARS = 128;
const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const ENDPOINT_EXPECTED = 'an etcd client URL such as "https://192.0.2.10:2379" (scheme, host and port only)';

/** "https://host:port" in canonical form (IPv6 in brackets), or undefined. */
export function parseEtcdEndpoint(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.port === '' || url.username || url.password || url.search || url.hash) return undefined;
  if (url.pathname !== '/' && url.pathname !== '') return undefined;
  const bare = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const ip = canonicalIp(bare);
  if (ip === undefined && (isIP(bare) !== 0 || !HOSTNAME_RE.test(bare))) return undefined;
  const host = ip === undefined ? bare : isIP(ip) === 6 ? `[${ip}]` : ip;
  return `${url.protocol}//${host}:${url.port}`;
}

const tlsSchema = strict({
  ca_file: z.string().startsWith('/'),
  cert_file: z.string().startsWith('/'),
  key_file: z.string().startsWith('/'),
});

export const etcdSchema = strict({
  endpoints: z.array(mapped(ENDPOINT_EXPECTED, parseEtcdEndpoint)).min(1).max(MAX_ENDPOINTS),
  prefix: z
    .string()
    .max(MAX_PREFIX_CHARS)
    .regex(PREFIX_RE, { error: 'a key prefix such as "/anycastd/fabric-1" (no trailing "/")' }),
  tls: tlsSchema.optional(),
  lease_ttl: duration().prefault(DEFAULT_LEASE_TTL),
  members_cache: z.string().startsWith('/', { error: 'an absolute path' }).optional(),
}).transform(
  (e): EtcdConfig => ({
    endpoints: e.endpoints,
    prefix: e.prefix,
    tls: e.tls
      ? { caFile: e.tls.ca_file, certFile: e.tls.cert_file, keyFile: e.tls.key_file, material: null }
      : null,
    leaseTtlMs: e.lease_ttl,
    membersCache: e.members_cache ?? null,
  }),
);
