// What the operator's view of a running agent reads (OpsParts): the agent itself, the speaker's peers
// and received routes, and the data plane with the service ids the agent gave it. The composition root
// (src/daemon/) fills it; agent-handler.ts turns it into the replies `anycastd show` prints.
import type { LogRecord } from '../agent/log.js';
import type { AgentStatus } from '../agent/status.js';
import type { PeerDetail, ResetOutcome } from '../bgp/peer-admin.js';
import type { PeerStatus } from '../bgp/speaker-status.js';
import type { ServiceAgreement } from '../cluster/etcd/agreement.js';
import type { EtcdClusterSnapshot, RegisteredInfo } from '../cluster/etcd/etcd-cluster.js';
import type { ReloadResult } from '../config/reload.js';
import type { Config } from '../config/types.js';
import type { Dataplane } from '../steer/dataplane.js';
import type { RouteInfo } from './types.js';

/** What the operator's view needs of the Agent (src/agent/agent.ts satisfies it as it is). */
export interface OpsAgent {
  readonly config: Config;
  status(): AgentStatus;
  drain(service: string): void;
  undrain(service: string): void;
  reload(file?: string): Promise<ReloadResult>;
  on(event: 'log', listener: (record: LogRecord) => void): unknown;
}

/** The etcd backend (src/cluster/etcd/etcd-cluster.ts satisfies it), when the fabric runs on it. */
export interface StoreView {
  setDrain(service: string, instance: string, drained: boolean): Promise<void>;
  registered(service: string): Promise<RegisteredInfo[]>;
  agreement(): Promise<ServiceAgreement[]>;
  snapshot(): EtcdClusterSnapshot;
}

export interface OpsParts {
  agent: OpsAgent;
  /** The etcd backend (absent with the mesh). */
  store?: StoreView;
  /** The speaker's peers() snapshot (BgpSpeaker.peers). */
  peers?: () => readonly PeerStatus[];
  /** The data plane (Steering.dataplane) and the service ids the agent gave it (Steering.serviceId). */
  steering?: { dataplane: Dataplane; serviceId(name: string): number | undefined };
  /** One peer in detail, and the operator's reset of one (the speaker's; undefined: no such peer). */
  peerDetail?: (name: string) => PeerDetail | undefined;
  resetPeer?: (name: string, hard: boolean) => ResetOutcome | undefined;
  /** Routes received from the peers, for `show routes` (the speaker's Adj-RIB-In; none: not shown). */
  received?: () => readonly RouteInfo[];
  /** What each peer was actually sent (the speaker's Adj-RIB-Out): `show routes` lists advertised routes per peer. */
  sent?: () => readonly { peer: string; prefix: string }[];
  version: string;
  /** Unix time (ms) the agent started. */
  startedAt: number;
}

/** The last transition of a service's local instance, from the agent's log events. */
export interface LastChange {
  reason: string;
  at: number; // unix ms
  /** The check that caused it ("" for drain and events) and what it found. */
  check: string;
  detail: string;
}
