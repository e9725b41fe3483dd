// Schema of the `bgp` and `kernel_route` sections: peers (numbered or unnumbered over IPv6 link-local,
// RFC 8950), TCP MD5 (RFC 2385), GTSM (RFC 5082), timers (RFC 4271 §4.2, §10), max-prefix, the import
// policy (default: only the default routes), the communities (RFC 1997, RFC 8092) added on export and
// BFD (RFC 5880/5881; src/bfd) per peer.

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
import type { BfdPeerConfig, KernelRouteConfig, PeerConfig, PrefixMatch } from './types.js';

/** RFC 4271 §4.2: a hold time is 0 or at least 3 seconds. */
export const MIN_HOLD_TIME_MS = 3000;
export const DEFAULT_HOLD_TIME = '90s';
export const DEFAULT_CONNECT_RETRY = '5s';
/**
 * Graceful restart (RFC 4724) as the restarting speaker: how long the peers keep our routes while the
 * agent restarts (the data plane forwards meanwhile). Short, because a host that dies keeps its routes
 * at the ToRs for the hold time plus this long; an agent restart takes a few seconds.
 */
export const DEFAULT_RESTART_TIME = '30s';
/** Bounds of restart_time (the capability carries 12 bits of seconds; longer hides a dead host). */
export const MIN_RESTART_TIME_MS = 1000;
export const MAX_RESTART_TIME_MS = 300_000;
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
/**
 * BFD defaults: 100 ms × 3 (300 ms to detect). On a 2-core lab box at load ~30 it flapped (soak in
 * src/bfd/README.md: choose the timers there); RFC 5880 allows down to 1 µs, a JavaScript event loop does not.
 */
export const DEFAULT_BFD = { minTxMs: 100, minRxMs: 100, multiplier: 3 } as const;
/** Below this a timer is below what one event-loop stall costs; above, RFC 5880's u32 of µs. */
const MIN_BFD_INTERVAL_MS = 10;
const MAX_BFD_INTERVAL_MS = 60_000;
const MAX_BFD_MULTIPLIER = 255;
const DEFAULT_RESTART_TIME_MS = 30_000;
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

const bfdInterval = () =>
  duration().refine((ms) => ms >= MIN_BFD_INTERVAL_MS && ms <= MAX_BFD_INTERVAL_MS, {
    message: `a BFD interval is ${MIN_BFD_INTERVAL_MS}ms..${MAX_BFD_INTERVAL_MS / 1000}s`,
  });

/** `bfd: true`, or the timers: min_tx, min_rx (durations), multiplier. */
const bfdSchema = z.union([
  z.boolean(),
  strict({
    min_tx: bfdInterval().optional(),
    min_rx: bfdInterval().optional(),
    multiplier: int(1, MAX_BFD_MULTIPLIER).optional(),
  }),
]);

function bfdOf(b: z.infer<typeof bfdSchema> | undefined): BfdPeerConfig | null {
  if (b === undefined || b === false) return null;
  if (b === true) return { ...DEFAULT_BFD };
  return {
    minTxMs: b.min_tx ?? DEFAULT_BFD.minTxMs,
    minRxMs: b.min_rx ?? DEFAULT_BFD.minRxMs,
    multiplier: b.multiplier ?? DEFAULT_BFD.multiplier,
  };
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
  graceful_restart: strict({
    enabled: z.boolean().default(true),
    restart_time: duration().prefault(DEFAULT_RESTART_TIME),
  }).optional(),
  max_prefix: strict({
    limit: int(1, MAX_METRIC),
    action: z.enum(['warn', 'withdraw', 'reset']).default(DEFAULT_MAX_PREFIX.action),
  }).optional(),
  import: strict({
    accept: z.array(prefixMatch()).default(DEFAULT_IMPORT.map((p) => parsePrefixMatch(p)!)),
  }).optional(),
  bfd: bfdSchema.optional(),
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
    gracefulRestart: {
      enabled: p.graceful_restart?.enabled ?? true,
      restartTimeMs: p.graceful_restart?.restart_time ?? DEFAULT_RESTART_TIME_MS,
    },
    maxPrefix: p.max_prefix ?? { ...DEFAULT_MAX_PREFIX },
    importAccept: p.import?.accept ?? DEFAULT_IMPORT.map((d) => parsePrefixMatch(d)!),
    exportCommunities: p.export?.communities ?? [],
    exportLargeCommunities: p.export?.large_communities ?? [],
    bfd: bfdOf(p.bfd),
  }),
);

export const bgpSchema = strict({ peers: z.array(peerSchema).default([]) });

export const kernelRouteSchema = strict({
  metric: int(0, MAX_METRIC).default(DEFAULT_ROUTE_METRIC),
  protocol: int(1, MAX_ROUTE_PROTOCOL).default(DEFAULT_ROUTE_PROTOCOL),
}).transform((k): KernelRouteConfig => ({ metric: k.metric, protocol: k.protocol }));
