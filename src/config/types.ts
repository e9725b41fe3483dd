// The normalized, typed configuration anycastd runs on: what src/config/schema.ts produces from the
// YAML file once every default is filled in and every duration is in milliseconds. Field names are the
// camelCase form of the YAML's snake_case keys. Consumers (agent, bgp, health, steer) read only this.

import type { ClusterKeys } from './cluster-keys.js';
import type { EtcdTlsMaterial } from './etcd-tls.js';

/** A host's addresses; at least one family is present. */
export interface AddressPair {
  ipv4: string | null;
  ipv6: string | null;
}

export interface NodeConfig {
  id: string;
  /** Put on lo and always exported. */
  host: AddressPair;
  /** 4-octet AS number (RFC 6793). */
  asn: number;
  /** BGP identifier, dotted quad (defaults to host.ipv4). */
  routerId: string;
  /** Uplink interfaces the XDP program is attached to. */
  uplinks: string[];
}

export type MaxPrefixAction = 'warn' | 'withdraw' | 'reset';

/** One accepted prefix range of an import policy: `prefix`, optionally widened by ge/le (as in FRR's prefix-lists). */
export interface PrefixMatch {
  prefix: string;
  family: 4 | 6;
  length: number;
  ge: number;
  le: number;
}

export interface PeerConfig {
  /** Stable peer key: the name if given, else the address or `interface:<name>`. */
  name: string;
  /** Numbered peer address, or null for an unnumbered peer. */
  address: string | null;
  /** Interface of an unnumbered peer (IPv6 link-local, RFC 8950), or null. */
  interface: string | null;
  remoteAsn: number;
  localAddress: string | null;
  /** TCP MD5 key (RFC 2385) given inline, or null. */
  password: string | null;
  /** File holding the MD5 key (read by the BGP layer, so `check` stays pure), or null. */
  passwordFile: string | null;
  /** GTSM (RFC 5082): null = off, else the number of hops allowed (minimum TTL = 256 - hops). */
  ttlSecurityHops: number | null;
  holdTimeMs: number;
  keepaliveMs: number;
  connectRetryMs: number;
  passive: boolean;
  /**
   * Graceful restart as the restarting speaker (RFC 4724): advertise it with the forwarding-state bit
   * and `restartTimeMs`, and on SIGTERM leave this peer's session without a NOTIFICATION so it keeps our
   * routes. Off: only the helper side (restart time advertised, no families), and SIGTERM sends a Cease.
   */
  gracefulRestart: { enabled: boolean; restartTimeMs: number };
  /** Limit on the distinct prefixes the peer announces (before import policy); default 16, withdraw. */
  maxPrefix: { limit: number; action: MaxPrefixAction };
  importAccept: PrefixMatch[];
  exportCommunities: string[];
  exportLargeCommunities: string[];
  /** BFD to this peer (RFC 5880/5881, single hop, asynchronous mode); null or absent: none. */
  bfd?: BfdPeerConfig | null;
}

/** A peer's BFD timers: our DesiredMinTxInterval, RequiredMinRxInterval and DetectMult. */
export interface BfdPeerConfig {
  minTxMs: number;
  minRxMs: number;
  multiplier: number;
}

export interface KernelRouteConfig {
  metric: number;
  /** rtnetlink route protocol number (RTPROT_*) marking routes anycastd owns. */
  protocol: number;
}

export type Protocol = 'tcp' | 'udp';

/** A service port: `port` null means any port of that protocol. */
export interface PortConfig {
  protocol: Protocol;
  port: number | null;
}

export interface InstanceConfig {
  id: string;
  host: AddressPair;
  weight: number;
}

export interface DampeningConfig {
  /** Penalty added on each up→down flap. */
  penalty: number;
  halfLifeMs: number;
  suppress: number;
  reuse: number;
  maxHoldDownMs: number;
}

interface CheckCommon {
  intervalMs: number;
  /** Interval while the result is changing (between the first differing result and rise/fall). */
  fastIntervalMs: number;
  timeoutMs: number;
  rise: number;
  fall: number;
  dampening: DampeningConfig | null;
}

export interface TcpCheckConfig extends CheckCommon {
  type: 'tcp';
  port: number;
  /** Watch the local listener and fail at once when it disappears. */
  watchSocket: boolean;
  /** Watch the local listener's queue and connections and probe fast at a sign of a stall. */
  watchStall: boolean;
  /** How long a connection may wait to be accepted or answered before that is a sign (ms). */
  stallMs: number;
}

export interface HttpCheckConfig extends CheckCommon {
  type: 'http' | 'https';
  port: number;
  path: string;
  host: string | null;
  /** Accepted status codes. */
  status: number[];
  bodyContains: string | null;
  bodyRegex: string | null;
  tlsSkipVerify: boolean;
  watchSocket: boolean;
  watchStall: boolean;
  stallMs: number;
}

export interface ExecCheckConfig extends CheckCommon {
  type: 'exec';
  command: string[];
  expectExit: number;
  /** The local user the command runs as (no capabilities, a clean environment). */
  user: string;
}

export type DnsQueryType = 'A' | 'AAAA';

export interface DnsCheckConfig extends CheckCommon {
  type: 'dns';
  port: number;
  query: string;
  queryType: DnsQueryType;
  /** Addresses that must all appear in the answer (empty: any answer). */
  expect: string[];
}

export interface UdpCheckConfig extends CheckCommon {
  type: 'udp';
  port: number;
  send: string;
  /** Substring the reply must contain (empty: any reply). */
  expect: string;
}

export type CheckConfig =
  | TcpCheckConfig
  | HttpCheckConfig
  | ExecCheckConfig
  | DnsCheckConfig
  | UdpCheckConfig;

export type OnDownAction = 'withdraw' | 'med' | 'prepend' | 'graceful_shutdown';

export interface OnDownConfig {
  action: OnDownAction;
  /** How long the worsened route stays before the withdrawal (0 for action withdraw). */
  delayMs: number;
  med: number;
  prepend: number;
}

export interface ServiceConfig {
  name: string;
  /** VIP host addresses (IPv4 /32 and IPv6 /128), in canonical form. */
  vips: string[];
  ports: PortConfig[];
  instances: InstanceConfig[];
  /** Id of the instance that runs on this node. */
  localInstanceId: string;
  checks: CheckConfig[];
  onDown: OnDownConfig;
  vipLeavesLoWhenDown: boolean;
  drainTimeMs: number;
  /** At start, how long to wait for the first round of checks before advertising regardless. */
  graceTimeMs: number;
  /**
   * How long an instance joining the `established` ring waits after joining `new`, so the misses of older
   * connections still find the instance that holds them.
   */
  joinGraceMs: number;
  drainFile: string;
}

export type XdpMode = 'native' | 'generic';

/**
 * xdp: the steering program on the uplinks, Maglev rings, flows kept across membership changes.
 * none: BGP and health only — VIPs advertised and withdrawn as with xdp, but no XDP program, no rings, no
 * pins and no bpffs mount; the fabric's ECMP alone spreads the flows.
 */
export type DataplaneMode = 'xdp' | 'none';

export interface DataplaneConfig {
  mode: DataplaneMode;
  xdpMode: XdpMode;
  mtu: number;
  flowTableSize: number;
  /** The flood guard: flow inserts per CPU per second past which new flows are steered unrecorded (0: off). */
  floodNewFlowsPerCpu: number;
  /** Maglev ring size; prime. */
  ringSize: number;
  /** The rings map's room in services (null: the configured count rounded up, config/limits.ts ringServices). */
  maxServices: number | null;
  /** A TCP connection that ends on this host takes its flow entry with it (src/steer/flow-reaper.ts). */
  forgetClosedFlows: boolean;
  /** Which new flows get a flow-table entry: every one, or only those a ring change could move (bpf/README.md "Fewer inserts"). */
  recordFlows: 'all' | 'movable';
}

/**
 * Where the agents learn each other's instances: `mesh` (the instances listed in every host's config,
 * reports exchanged directly between the agents) or `etcd` (instances registered under leases in etcd,
 * every agent watches one prefix: src/cluster/etcd/).
 */
export type ClusterBackend = 'mesh' | 'etcd';

/** The etcd files of mutual TLS (paths), and what the loader read from them. */
export interface EtcdTlsConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The files' bytes, read when the config was loaded (null: not read — parseConfig). */
  material: EtcdTlsMaterial | null;
}

export interface EtcdConfig {
  /** Client URLs of the etcd members, `http://` or `https://` host:port. */
  endpoints: string[];
  /** The fabric's key prefix (no trailing '/'): every key of this fabric lies under `<prefix>/`. */
  prefix: string;
  /** Mutual TLS (null: plain gRPC, loopback endpoints only). */
  tls: EtcdTlsConfig | null;
  /** TTL of the lease this host's instances are registered under (whole seconds, in ms). */
  leaseTtlMs: number;
  /**
   * The file the last membership read from the store is kept in, for a restart while etcd is away
   * (src/cluster/etcd/members-cache.ts). Null: `$STATE_DIRECTORY/etcd-members.json` under systemd
   * (the unit's StateDirectory), else none.
   */
  membersCache: string | null;
}

/** Agents tell each other their local instances' state and ring membership (src/cluster/). */
export interface ClusterConfig {
  backend: ClusterBackend;
  /** The etcd backend's settings (null with backend mesh). */
  etcd: EtcdConfig | null;
  enabled: boolean;
  /** TCP port of the state endpoint, the same on every host (default privileged: no other user can take it). */
  port: number;
  /** The shared keys' file (src/config/cluster-keys.ts); without it the channel stays off. */
  keyFile: string | null;
  /** The keys read from keyFile when the config was loaded (null: not read — parseConfig, or no key file). */
  keys: ClusterKeys | null;
}

export interface Config {
  /** Absolute path of the file this came from. */
  file: string;
  node: NodeConfig;
  peers: PeerConfig[];
  kernelRoute: KernelRouteConfig;
  services: ServiceConfig[];
  metrics: { listen: string };
  api: { socket: string; group: string | null };
  dataplane: DataplaneConfig;
  cluster: ClusterConfig;
}
