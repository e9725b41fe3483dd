// Schema of the `bgp` and `kernel_route` sections: peers (numbered or unnumbered over IPv6 link-local,
// RFC 8950), TCP MD5 (RFC 2385), GTSM (RFC 5082), timers (RFC 4271 §4.2, §10), max-prefix, the import
// policy (default: only the default routes) and the communities (RFC 1997, RFC 8092) added on export.

import { z } from 'zod';
import {
  asn,
  community,
  duration,
  int,
  ipAddress,
  largeCommunity,
  mapped,
  parsePrefix,
  strict,
} from './fields.js';
import type { KernelRouteConfig, PeerConfig, PrefixMatch } from './types.js';

/** RFC 4271 §4.2: a hold time is 0 or at least 3 seconds. */
export const MIN_HOLD_TIME_MS = 3000;
export const DEFAULT_HOLD_TIME = '90s';
export const DEFAULT_CONNECT_RETRY = '5s';
/** RFC 5082: minimum TTL = 256 - hops, so 254 hops is the most that still checks anything. */
const MAX_GTSM_HOPS = 254;
/** Not in iproute2's rt_protos: marks the default route(s) anycastd installs. */
export const DEFAULT_ROUTE_PROTOCOL = 201;
export const DEFAULT_ROUTE_METRIC = 20;
const MAX_ROUTE_PROTOCOL = 255;
const MAX_METRIC = 0xffff_ffff;
/** The default import policy accepts only the default routes, exactly (no ge/le: /0 and nothing longer). */
export const DEFAULT_IMPORT = ['0.0.0.0/0', '::/0'];
/**
 * Max-prefix default: a host needs two routes per peer (0.0.0.0/0 and ::/0); 16 leaves room for a ToR
 * that also sends a few of its own (loopback, links) and still trips at once on any leaked table.
 */
export const DEFAULT_MAX_PREFIX = { limit: 16, action: 'withdraw' } as const;
const IPV4_BITS = 32;
const IPV6_BITS = 128;

const PREFIX_MATCH_EXPECTED =
  'a prefix with optional bounds, such as "0.0.0.0/0" or "10.0.0.0/8 ge 16 le 24"';
const PREFIX_MATCH_RE = /^(\S+)(?:\s+ge\s+(\d+))?(?:\s+le\s+(\d+))?$/;

/** Parses an import policy entry "PREFIX [ge N] [le N]" (FRR prefix-list semantics); undefined if invalid. */
export function parsePrefixMatch(text: string): PrefixMatch | undefined {
  const m = PREFIX_MATCH_RE.exec(text.trim());
  const p = m ? parsePrefix(m[1]!) : undefined;
  if (!m || !p) return undefined;
  const maxLen = p.family === 4 ? IPV4_BITS : IPV6_BITS;
  const ge = m[2] !== undefined ? Number(m[2]) : p.length;
  const le = m[3] !== undefined ? Number(m[3]) : m[2] !== undefined ? maxLen : p.length;
  if (ge < p.length || le < ge || le > maxLen) return undefined;
  return { ...p, ge, le };
}

const prefixMatch = () => mapped(PREFIX_MATCH_EXPECTED, parsePrefixMatch);

export const peerSchema = strict({
  name: z.string().min(1).optional(),
  address: ipAddress().optional(),
  interface: z.string().min(1).optional(),
  remote_asn: asn(),
  local_address: ipAddress().optional(),
  password: z.string().min(1).optional(),
  password_file: z.string().min(1).optional(),
  ttl_security: z.boolean().default(false),
  ttl_security_hops: int(1, MAX_GTSM_HOPS).default(1),
  hold_time: duration().prefault(DEFAULT_HOLD_TIME),
  keepalive: duration().optional(),
  connect_retry: duration().prefault(DEFAULT_CONNECT_RETRY),
  passive: z.boolean().default(false),
  max_prefix: strict({
    limit: int(1, MAX_METRIC),
    action: z.enum(['warn', 'withdraw', 'reset']).default(DEFAULT_MAX_PREFIX.action),
  }).optional(),
  import: strict({
    accept: z.array(prefixMatch()).default(DEFAULT_IMPORT.map((p) => parsePrefixMatch(p)!)),
  }).optional(),
  export: strict({
    communities: z.array(community()).default([]),
    large_communities: z.array(largeCommunity()).default([]),
  }).optional(),
}).transform(
  (p): PeerConfig => ({
    name: p.name ?? p.address ?? `interface:${p.interface ?? ''}`,
    address: p.address ?? null,
    interface: p.interface ?? null,
    remoteAsn: p.remote_asn,
    localAddress: p.local_address ?? null,
    password: p.password ?? null,
    passwordFile: p.password_file ?? null,
    ttlSecurityHops: p.ttl_security ? p.ttl_security_hops : null,
    holdTimeMs: p.hold_time,
    // RFC 4271 §10 suggests a keepalive of one third of the hold time.
    keepaliveMs: p.keepalive ?? Math.floor(p.hold_time / 3),
    connectRetryMs: p.connect_retry,
    passive: p.passive,
    maxPrefix: p.max_prefix ?? { ...DEFAULT_MAX_PREFIX },
    importAccept: p.import?.accept ?? DEFAULT_IMPORT.map((d) => parsePrefixMatch(d)!),
    exportCommunities: p.export?.communities ?? [],
    exportLargeCommunities: p.export?.large_communities ?? [],
  }),
);

export const bgpSchema = strict({ peers: z.array(peerSchema).default([]) });

export const kernelRouteSchema = strict({
  metric: int(0, MAX_METRIC).default(DEFAULT_ROUTE_METRIC),
  protocol: int(1, MAX_ROUTE_PROTOCOL).default(DEFAULT_ROUTE_PROTOCOL),
}).transform((k): KernelRouteConfig => ({ metric: k.metric, protocol: k.protocol }));
