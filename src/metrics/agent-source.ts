// The metrics (and API) view of a running agent: adapts the Agent's status() snapshot, the BGP speaker's
// peers() snapshot (messages by type and flaps as the speaker counts them) and the Steering's Dataplane
// to the MetricsSource interfaces, and names the last transition of each service's local instance
// (kept by the ops layer from the agent's 'health-transition' log events).
import type { AgentStatus } from '../agent/agent.js';
import type { LogRecord } from '../agent/log.js';
import type { RouteInfo } from '../api/types.js';
import type { Rfc7606Action } from '../bgp/codec/errors.js';
import type { MessageCounts, PeerStatus } from '../bgp/speaker-status.js';
import type { ReloadResult } from '../config/reload.js';
import type { Config } from '../config/types.js';
import type { Dataplane } from '../steer/dataplane.js';
import { VIP_F_FRAG } from '../steer/layout.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../steer/proto.js';
import { vipKeyHex, vipKeyOf } from '../steer/vips.js';
import { type CountedVip, readDataplaneMetrics } from './dataplane-source.js';
import { vipLabelsOf } from './label-sets.js';
import {
  type BgpMessageTypeName,
  type ClusterMetrics,
  type DataplaneMetrics,
  type MetricsSource,
  type PeerMetrics,
  RFC7606_ACTIONS,
  RING_KINDS,
  type ServiceMetrics,
  type XdpAttachment,
} from './sources.js';
import { xdpAttachments } from './xdp-source.js';

/** What the ops layer needs of the Agent (src/agent/agent.ts satisfies it as it is). */
export interface OpsAgent {
  readonly config: Config;
  status(): AgentStatus;
  drain(service: string): void;
  undrain(service: string): void;
  reload(file?: string): Promise<ReloadResult>;
  on(event: 'log', listener: (record: LogRecord) => void): unknown;
}

export interface OpsParts {
  agent: OpsAgent;
  /** The speaker's peers() snapshot (BgpSpeaker.peers). */
  peers?: () => readonly PeerStatus[];
  /** The data plane (Steering.dataplane) and the service ids the agent gave it (Steering.serviceId). */
  steering?: { dataplane: Dataplane; serviceId(name: string): number | undefined };
  /** Routes received from the peers, for `show routes` (the speaker's Adj-RIB-In; none: not shown). */
  received?: () => readonly RouteInfo[];
  /** The cluster channel (Cluster.counters). */
  cluster?: { counters(): ClusterMetrics };
  /** Inbound BGP connections refused at accept (BgpSpeaker.connectionsRefused). */
  bgpConnectionsRefused?: () => number;
  /** Where the program is attached, in which mode (default: the kernel asked about each uplink). */
  xdp?: () => readonly XdpAttachment[];
  version: string;
  /** Unix time (ms) the agent started. */
  startedAt: number;
}

const PROTO = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP } as const;

/** The last transition of each service's local instance, from the agent's log events. */
export interface LastChange {
  reason: string;
  at: number; // unix ms
}

/** The speaker's counts by message type under the metric's `type` label names. */
function byType(counts: MessageCounts): Record<BgpMessageTypeName, number> {
  return {
    open: counts.open,
    update: counts.update,
    notification: counts.notification,
    keepalive: counts.keepalive,
    route_refresh: counts['route-refresh'],
  };
}

export function peerMetrics(p: PeerStatus, now: number = Date.now()): PeerMetrics {
  const errors = Object.fromEntries(RFC7606_ACTIONS.map((a) => [a, 0])) as Record<Rfc7606Action, number>;
  for (const [key, n] of Object.entries(p.rfc7606)) {
    const action = key.split(':')[0] as Rfc7606Action;
    if (action in errors) errors[action] += n;
  }
  return {
    name: p.name,
    state: p.state,
    establishedSince: p.uptimeMs === null ? null : now - p.uptimeMs,
    flaps: p.flaps,
    messagesSent: byType(p.sentByType),
    messagesReceived: byType(p.receivedByType),
    prefixesAdvertised: p.prefixesAdvertised,
    prefixesReceived: p.prefixesReceived,
    prefixesAccepted: p.prefixesAccepted,
    updateErrors: errors,
  };
}

export function serviceMetrics(s: AgentStatus['services'][number], vips: readonly string[]): ServiceMetrics {
  return {
    name: s.name,
    announced: new Map(vips.map((v) => [v, s.vipAnnounced])),
    checks: s.instances.flatMap((i) =>
      i.checks.map((c) => ({ instance: i.id, check: c.name, up: c.state === 'up' })),
    ),
    instancesHealthy: s.instances.filter((i) => i.state === 'up').length,
    ringShares: RING_KINDS.flatMap((ring) =>
      Object.entries(s.rings[ring] ?? {}).map(([instance, share]) => ({ ring, instance, share })),
    ),
    reported: s.instances
      .filter((i) => !i.local)
      .map((i) => ({ instance: i.id, state: i.reported?.state ?? 'none' })),
  };
}

/** The config's VIP counters with the ids the data plane gave them (VIPs not yet written are left out). */
export function countedVips(config: Config, dp: Pick<Dataplane, 'state'>): CountedVip[] {
  const ids = new Map<string, number>();
  for (const e of dp.state.vips) if (!(e.flags & VIP_F_FRAG)) ids.set(vipKeyHex(e.key), e.vipId);
  return config.services.flatMap(vipLabelsOf).flatMap((v) => {
    const vipId = ids.get(vipKeyHex(vipKeyOf(v.vip, PROTO[v.protocol], v.port)));
    return vipId === undefined ? [] : [{ ...v, vipId }];
  });
}

/** The MetricsSource of a running agent. */
export function agentMetricsSource(parts: OpsParts): MetricsSource {
  return {
    peers: () => (parts.peers?.() ?? []).map((p) => peerMetrics(p)),
    services: () => {
      const cfg = parts.agent.config;
      return parts.agent
        .status()
        .services.map((s) => serviceMetrics(s, cfg.services.find((c) => c.name === s.name)?.vips ?? []));
    },
    cluster: () => parts.cluster?.counters() ?? null,
    bgpConnectionsRefused: () => parts.bgpConnectionsRefused?.() ?? 0,
    dataplane: (): DataplaneMetrics | null => {
      const dp = parts.steering?.dataplane;
      if (!dp) return null;
      const cfg = parts.agent.config;
      const xdp = parts.xdp?.() ?? xdpAttachments(cfg.node.uplinks, dp.program.id, cfg.dataplane.xdpMode);
      return readDataplaneMetrics(dp, countedVips(cfg, dp), xdp);
    },
  };
}
