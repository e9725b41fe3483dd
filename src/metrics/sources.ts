// What the metrics layer reads, as small snapshot interfaces the agent satisfies: BGP peers (from the
// speaker's peers() snapshot), services (announced VIPs, check results, healthy instances, ring shares)
// and the data plane (per-VIP per-CPU counters summed, flow-table fill, XDP attachment). Everything is
// pulled at scrape time; only events with no natural snapshot (a check's duration, a transition, a
// reload) are pushed, through the MetricsRecorder methods of AnycastdMetrics.
import type { Rfc7606Action } from '../bgp/codec/errors.js';
import type { FsmState } from '../bgp/fsm/types.js';
import type { RejectReason } from '../bgp/nexthop-check.js';
import type { ClusterCountersSnapshot } from '../cluster/counters.js';
import type { EtcdClusterSnapshot } from '../cluster/etcd/etcd-cluster.js';
import type { TransitionReason } from '../health/types.js';
import type { GlobalStats, VipStats } from '../steer/layout.js';

/** BGP message types by their RFC names, lower-case (the `type` label). */
export const BGP_MESSAGE_TYPES = ['open', 'update', 'notification', 'keepalive', 'route_refresh'] as const;
export type BgpMessageTypeName = (typeof BGP_MESSAGE_TYPES)[number];

export const FSM_STATES = [
  'idle',
  'connect',
  'active',
  'open-sent',
  'open-confirm',
  'established',
] as const satisfies readonly FsmState[];

export const RFC7606_ACTIONS = [
  'session-reset',
  'treat-as-withdraw',
  'attribute-discard',
] as const satisfies readonly Rfc7606Action[];

/** Why a received route was not used (src/bgp/nexthop-check.ts; the `reason` label). */
export const ROUTE_REJECT_REASONS = [
  'family-not-negotiated',
  'nexthop-own-address',
  'nexthop-not-on-link',
  'nexthop-missing',
] as const satisfies readonly RejectReason[];

export const TRANSITION_REASONS = [
  'check-failed',
  'rise-reached',
  'socket-gone',
  'dampened',
  'dampening-released',
  'drained',
  'undrained',
  'stopped',
] as const satisfies readonly TransitionReason[];

// Compile-time completeness: adding a state, action or reason upstream fails the type check here.
type Missing<All, Listed> = Exclude<All, Listed> extends never ? true : Exclude<All, Listed>;
const complete: [
  Missing<FsmState, (typeof FSM_STATES)[number]>,
  Missing<Rfc7606Action, (typeof RFC7606_ACTIONS)[number]>,
  Missing<TransitionReason, (typeof TRANSITION_REASONS)[number]>,
  Missing<RejectReason, (typeof ROUTE_REJECT_REASONS)[number]>,
] = [true, true, true, true];
void complete;

export const RELOAD_RESULTS = ['success', 'failure'] as const;
export type ReloadResultLabel = (typeof RELOAD_RESULTS)[number];

/** Data-plane outcomes counted per VIP (the `action` label); drops are counted by reason instead. */
export const PACKET_ACTIONS = ['local', 'forwarded', 'decapsulated', 'icmp_too_big', 'icmp_error'] as const;
export type PacketAction = (typeof PACKET_ACTIONS)[number];

/**
 * Second-chance outcomes counted per VIP (the `outcome` label; bpf/rings.h): a non-SYN TCP packet of a
 * two-ring service about to go to this host's kernel without a flow entry — `socket`: a socket here, passed;
 * `forwarded`: none here, sent once (marked) to the other ring's owner; `used`: none here and it already
 * had its chance, passed (the kernel resets it); `none`: none here and no other owner, passed.
 */
export const SECOND_CHANCE_OUTCOMES = ['socket', 'forwarded', 'used', 'none'] as const;
export type SecondChanceOutcome = (typeof SECOND_CHANCE_OUTCOMES)[number];

export const RING_KINDS = ['new', 'established'] as const;

/** What a remote instance's own agent reports of it (src/cluster/); `none` while nothing is heard. */
export const REPORTED_STATES = ['up', 'down', 'drained', 'none'] as const;
export type ReportedStateName = (typeof REPORTED_STATES)[number];
export type RingKindName = (typeof RING_KINDS)[number];

/** One peer as the speaker's peers() snapshot gives it. Counters are monotonic since start. */
export interface PeerMetrics {
  name: string;
  state: FsmState;
  /** Unix time in ms the session last reached Established; null when it is not Established. */
  establishedSince: number | null;
  /** Times the session left Established. */
  flaps: number;
  messagesSent: Readonly<Record<BgpMessageTypeName, number>>;
  messagesReceived: Readonly<Record<BgpMessageTypeName, number>>;
  prefixesAdvertised: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  updateErrors: Readonly<Record<Rfc7606Action, number>>;
  /** Received routes not used, by reason (next hop or family). */
  routesRejected: Readonly<Record<RejectReason, number>>;
  /** The peer's BFD session, when it has one (src/bfd). */
  bfd?: BfdMetrics;
  /** Its interface is up with carrier; undefined: not known. */
  linkUp?: boolean;
}

/** RFC 5880 session states as the `state` label names them. */
export const BFD_STATES = ['admin-down', 'down', 'init', 'up'] as const;
export type BfdStateLabel = (typeof BFD_STATES)[number];

/** One peer's BFD session; counters monotonic since the session was made. */
export interface BfdMetrics {
  state: BfdStateLabel;
  /** State changes by new state. */
  transitions: Readonly<Record<BfdStateLabel, number>>;
  packetsIn: number;
  packetsOut: number;
  sendErrors: number;
  detectTimeMs: number;
}

/** One service as the agent sees it. */
export interface ServiceMetrics {
  name: string;
  /** VIP address → advertised to the peers right now. */
  announced: ReadonlyMap<string, boolean>;
  /** Last result of each (instance, check) pair. */
  checks: readonly { instance: string; check: string; up: boolean }[];
  instancesHealthy: number;
  /** Fraction (0..1) of each ring's entries owned by each instance. */
  ringShares: readonly { ring: RingKindName; instance: string; share: number }[];
  /** Each remote instance's state as its own agent reports it. */
  reported: readonly { instance: string; state: ReportedStateName }[];
}

/** Labels that identify a VIP's counters: service, address, protocol, port (0 = any port). */
export interface VipLabels {
  service: string;
  vip: string;
  protocol: 'tcp' | 'udp';
  port: number;
}

export interface XdpAttachment {
  interface: string;
  mode: string;
  attached: boolean;
}

/** The data plane's counters, read from the kernel at scrape time. */
export interface DataplaneMetrics {
  vips: readonly { labels: VipLabels; stats: VipStats }[];
  global: GlobalStats;
  flows: { entries: number; capacity: number };
  xdp: readonly XdpAttachment[];
}

/** The cluster channel's counters (src/cluster/counters.ts). */
export type ClusterMetrics = ClusterCountersSnapshot;

/** The etcd backend's state and counters (src/cluster/etcd/etcd-cluster.ts). */
export type EtcdMetrics = EtcdClusterSnapshot;

/** Everything pulled per scrape; each part may be absent while the agent starts. */
export interface MetricsSource {
  peers?(): readonly PeerMetrics[];
  services?(): readonly ServiceMetrics[];
  dataplane?(): DataplaneMetrics | null;
  cluster?(): ClusterMetrics | null;
  etcd?(): EtcdMetrics | null;
  /** Inbound BGP connections refused at accept since start. */
  bgpConnectionsRefused?(): number;
  /** BFD packets dropped since start, by reason. */
  bfdDrops?(): Readonly<Record<string, number>>;
}

/** The events the agent pushes (implemented by AnycastdMetrics). */
export interface MetricsRecorder {
  checkDuration(service: string, instance: string, check: string, seconds: number): void;
  transition(service: string, instance: string, reason: TransitionReason): void;
  reload(result: ReloadResultLabel): void;
}

/** The `check` label of a configured check: its type and index, as src/health/service-health.ts names it. */
export function checkLabel(type: string, index: number): string {
  return `${type}#${index}`;
}
