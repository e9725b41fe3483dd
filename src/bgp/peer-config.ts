// Turns a configured peer (src/config/types.ts) into the options of a BgpSession: local AS and BGP
// identifier, timers, families (IPv4 peers carry IPv4 unicast, IPv6 peers IPv6 unicast, unnumbered
// peers both, with IPv4 over IPv6 next hops, RFC 8950), graceful restart as a helper (RFC 4724), and
// the outgoing connection made by the native addon with TCP MD5 (RFC 2385) and GTSM (RFC 5082: send
// with TTL 255, accept no less than 256 - hops) set on the socket before connect.

import { readFileSync } from 'node:fs';
import type net from 'node:net';
import type { Clock } from '../clock.js';
import { carriedFamilies } from '../config/families.js';
import type { NodeConfig, PeerConfig } from '../config/types.js';
import { AnycastdError } from '../errors.js';
import { MAX_TTL } from '../native/sockopt.js';
import { connectTcp } from '../native/tcp.js';
import type { IpFamily } from '../netlink/ip.js';
import type { AfiSafi } from './codec/capabilities.js';
import { Afi, Safi } from './codec/constants.js';
import { BGP_PORT, type SessionOptions } from './session.js';

const MS_PER_S = 1000;
/** RFC 4724 §4.2 restart time this helper advertises (seconds; the peer's own time governs its routes). */
export const GRACEFUL_RESTART_TIME_S = 120;
/** GTSM: minimum accepted TTL for a peer `hops` away (RFC 5082 §3). */
export function minTtlFor(hops: number): number {
  return MAX_TTL + 1 - hops;
}

const IPV4_UNICAST: AfiSafi = { afi: Afi.IPV4, safi: Safi.UNICAST };
const IPV6_UNICAST: AfiSafi = { afi: Afi.IPV6, safi: Safi.UNICAST };

/** Where the speaker's sockets live and which port peers use (tests move both). */
export interface PeerEnvironment {
  /** Network namespace of the speaker's sockets (default: the process's own). */
  netns?: string;
  /** BGP port of the peers (default 179). */
  port?: number;
  /** ifindex of an interface (for unnumbered peers); from the speaker's rtnetlink. */
  ifindexOf?: (name: string) => number | undefined;
  /** Connect-retry backoff base and ceiling (ms), for tests that want quick reconnects. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** The agent's clock (src/clock.ts; default systemClock): every BGP timer and time reading. */
  clock?: Clock;
  /**
   * The speaker's restart state, shared by every session (RFC 4724 R bit): true from a start that
   * found the previous agent's forwarding state until End-of-RIB is released.
   */
  restartState?: { restarting: boolean };
}

/** The address family of the session's transport. */
export function transportFamily(peer: PeerConfig): IpFamily {
  if (peer.interface !== null) return 6;
  return peer.address?.includes(':') ? 6 : 4;
}

export function isUnnumbered(peer: PeerConfig): boolean {
  return peer.interface !== null;
}

/** The TCP MD5 key, read from the file if the config names one. */
export function md5KeyOf(peer: PeerConfig): string | undefined {
  if (peer.password !== null) return peer.password;
  if (peer.passwordFile === null) return undefined;
  try {
    return readFileSync(peer.passwordFile, 'utf8').trim();
  } catch (err) {
    throw new AnycastdError(
      'ERR_CONFIG',
      `peer ${peer.name}: cannot read password file ${peer.passwordFile}`,
      {
        cause: err,
      },
    );
  }
}

/** The families offered: what config/families.ts says the peer carries (the config check's rule too). */
function families(peer: PeerConfig): AfiSafi[] {
  return carriedFamilies(peer).map((f) => (f === 4 ? IPV4_UNICAST : IPV6_UNICAST));
}

/** The outgoing connection: a native socket with MD5 and GTSM applied before connect. */
export function connectorFor(
  peer: PeerConfig,
  env: PeerEnvironment,
): (o: SessionOptions) => Promise<net.Socket> {
  const family = transportFamily(peer);
  const key = md5KeyOf(peer);
  // async: a socket that cannot even be made (namespace gone, bad option) rejects, never throws.
  return async (o) =>
    connectTcp({
      family,
      address: o.peerAddress,
      port: o.port ?? BGP_PORT,
      netns: env.netns,
      localAddress: peer.localAddress ?? undefined,
      scopeId: peer.interface !== null ? env.ifindexOf?.(peer.interface) : undefined,
      ttl: peer.ttlSecurityHops !== null ? MAX_TTL : undefined,
      minTtl: peer.ttlSecurityHops !== null ? minTtlFor(peer.ttlSecurityHops) : undefined,
      md5: key !== undefined ? [{ address: o.peerAddress, key }] : undefined,
      timeoutMs: peer.connectRetryMs,
    });
}

/** SessionOptions of a configured peer. An unnumbered peer without an address only listens. */
export function sessionOptions(
  peer: PeerConfig,
  node: NodeConfig,
  env: PeerEnvironment = {},
): SessionOptions {
  const o: SessionOptions = {
    localAs: node.asn,
    localId: node.routerId,
    peerAs: peer.remoteAsn,
    holdTime: Math.floor(peer.holdTimeMs / MS_PER_S),
    keepaliveTime: Math.floor(peer.keepaliveMs / MS_PER_S),
    passive: peer.passive || peer.address === null,
    families: families(peer),
    extendedNextHop: isUnnumbered(peer),
    gracefulRestartTime: peer.gracefulRestart.enabled
      ? Math.round(peer.gracefulRestart.restartTimeMs / MS_PER_S)
      : GRACEFUL_RESTART_TIME_S,
    peerAddress: peer.address ?? '::',
    port: env.port ?? BGP_PORT,
    retryBaseMs: env.retryBaseMs ?? peer.connectRetryMs,
    connect: connectorFor(peer, env),
  };
  if (env.retryMaxMs !== undefined) o.retryMaxMs = env.retryMaxMs;
  if (env.clock !== undefined) o.clock = env.clock;
  if (peer.localAddress !== null) o.localAddress = peer.localAddress;
  if (peer.gracefulRestart.enabled) o.gracefulRestart = env.restartState ?? { restarting: false };
  return o;
}

/** Did anything that shapes the session change (anything else can be applied without a reset)? */
export function sessionChanged(a: PeerConfig, b: PeerConfig): boolean {
  const pick = (p: PeerConfig) => ({
    ...p,
    importAccept: null,
    maxPrefix: null,
    exportCommunities: null,
    exportLargeCommunities: null,
    bfd: null, // BFD runs beside the session (src/bfd): its timers change without a reset
  });
  return JSON.stringify(pick(a)) !== JSON.stringify(pick(b));
}
