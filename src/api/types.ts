// The control API's messages as TypeScript sees them: the camelCase objects protobufjs converts
// src/api/anycastd.proto's messages to and from (one interface per message, same fields), the method
// table, and the handler interface the agent implements. Kept in step with the .proto by the codec test.
import { AnycastdError } from '../errors.js';

export interface StatusInfo {
  nodeId: string;
  version: string;
  startedAt: number;
  configFile: string;
  configLoadedAt: number;
  ready: boolean;
  peersEstablished: number;
  peersTotal: number;
  servicesUp: number;
  servicesTotal: number;
}

export interface PeerInfo {
  name: string;
  address: string;
  remoteAsn: number;
  state: string;
  establishedSince: number;
  flaps: number;
  prefixesAdvertised: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  lastError: string;
  /** BFD session summary ("up 100ms x3", "down (diag)"), "" without BFD. */
  bfd: string;
  /** The peer's interface: "up", "down", "" when unknown. */
  link: string;
  /** Received routes not used, by reason (every reason, 0 included). */
  routesRejected: RejectCount[];
}

export interface RejectCount {
  reason: string;
  count: number;
}

export interface ServiceInfo {
  name: string;
  state: string;
  announced: boolean;
  drained: boolean;
  vips: string[];
  instancesHealthy: number;
  instancesTotal: number;
  lastReason: string;
  lastChange: number;
  /** The check behind the last transition ("" for drain and events) and what it found. */
  lastCheck: string;
  lastDetail: string;
}

export interface CheckInfo {
  service: string;
  instance: string;
  local: boolean;
  name: string;
  type: string;
  state: string;
  /** ok, failed, agent-fault, none. */
  lastResult: string;
  reason: string;
  latencySeconds: number;
  lastRun: number;
  successes: number;
  failures: number;
  held: boolean;
  output: string;
  suspicion: string;
}

export interface InstanceInfo {
  service: string;
  id: string;
  address: string;
  weight: number;
  local: boolean;
  health: string;
  inRing: boolean;
  share: number;
  inNew: boolean;
  inEstablished: boolean;
  /** What the instance's own agent reports (src/cluster/): '' when nothing was heard (or local). */
  reported: string;
  /** etcd backend: its lease ('' with the mesh), the seconds left on it (-1 unknown), its key's mod revision. */
  lease?: string;
  leaseTtl?: number;
  revision?: number;
  /** Its lease expired: out of `new`, in `established` until drain_time. */
  departing?: boolean;
  /** etcd backend: its registered state (up, drained, failed; '' with the mesh). */
  registered?: string;
}

/** etcd backend: this host's ring digest of a service and whether every host agrees. */
export interface RingDigestInfo {
  service: string;
  digest: string;
  revision: number;
  agree: boolean;
  /** `<node>@<revision>=<digest>` of every host that wrote one. */
  hosts: string[];
}

export interface RingShareInfo {
  instance: string;
  entries: number;
  share: number;
}

export interface RingInfo {
  service: string;
  kind: string;
  size: number;
  shares: RingShareInfo[];
}

export interface FlowInfo {
  source: string;
  sourcePort: number;
  destination: string;
  destinationPort: number;
  protocol: string;
  instance: string;
}

export interface FlowsInfo {
  vip: string;
  total: number;
  flows: FlowInfo[];
}

export interface ActionResult {
  changed: boolean;
  message: string;
}

export interface ReloadInfo {
  changed: boolean;
  changes: string[];
}

export interface RouteInfo {
  prefix: string;
  direction: string;
  peer: string;
  nextHop: string;
  service: string;
  med: number;
  asPath: string;
  communities: string[];
  best: boolean;
}

/** The running config (src/config/public-view.ts: secrets as fingerprints), for `anycastd plan`. */
export interface RunningConfigInfo {
  file: string;
  json: string;
  loadedAt: number;
}

export interface PeerDetailInfo {
  peer: PeerInfo;
  peerId: string;
  holdTime: number;
  keepalive: number;
  capabilitiesOffered: string[];
  capabilitiesNegotiated: string[];
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  notificationsIn: number;
  notificationsOut: number;
  routeRefreshIn: number;
  lastNotificationIn: string;
  lastNotificationOut: string;
}

/** Each method: its request arguments and its reply. */
export interface Methods {
  status: { args: Record<string, never>; reply: StatusInfo };
  peers: { args: Record<string, never>; reply: { peers: PeerInfo[] } };
  services: { args: Record<string, never>; reply: { services: ServiceInfo[] } };
  instances: { args: { service: string }; reply: { instances: InstanceInfo[] } };
  rings: { args: { service: string }; reply: { rings: RingInfo[]; digests?: RingDigestInfo[] } };
  flows: { args: { vip: string; limit: number }; reply: FlowsInfo };
  drain: { args: { service: string; instance?: string }; reply: ActionResult };
  undrain: { args: { service: string; instance?: string }; reply: ActionResult };
  reload: { args: Record<string, never>; reply: ReloadInfo };
  routes: { args: Record<string, never>; reply: { routes: RouteInfo[] } };
  checks: { args: { service: string }; reply: { checks: CheckInfo[] } };
  config: { args: Record<string, never>; reply: RunningConfigInfo };
  peer: { args: { name: string }; reply: PeerDetailInfo };
  peerReset: { args: { name: string; hard: boolean }; reply: ActionResult };
}
export type MethodName = keyof Methods;
export const METHODS = [
  'status',
  'peers',
  'services',
  'instances',
  'rings',
  'flows',
  'drain',
  'undrain',
  'reload',
  'routes',
  'checks',
  'config',
  'peer',
  'peerReset',
] as const satisfies readonly MethodName[];

/** What answers the API: the agent (or a test's handler over real parts). Throw ApiError to refuse. */
export type ApiHandler = {
  [M in MethodName]: (args: Methods[M]['args']) => Promise<Methods[M]['reply']> | Methods[M]['reply'];
};

/** The ErrorCode enum of the .proto. */
export const API_ERROR_CODES = [
  'ERROR_CODE_UNSPECIFIED',
  'UNKNOWN_METHOD',
  'MALFORMED_REQUEST',
  'MESSAGE_TOO_LARGE',
  'NOT_FOUND',
  'INVALID_ARGUMENT',
  'INVALID_CONFIG',
  'FAILED',
  'UNAVAILABLE',
] as const;
export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** An error reply of the API (code ERR_API_REQUEST), thrown by handlers and by the client. */
export class ApiError extends AnycastdError {
  readonly apiCode: ApiErrorCode;
  constructor(apiCode: ApiErrorCode, message: string) {
    super('ERR_API_REQUEST', message);
    this.apiCode = apiCode;
  }
}

/** The agent's socket cannot be reached (code ERR_API_UNREACHABLE): not running, wrong path, no permission. */
export class ApiUnreachableError extends AnycastdError {
  readonly socket: string;
  constructor(socket: string, message: string, cause?: unknown) {
    super('ERR_API_UNREACHABLE', message, { cause });
    this.socket = socket;
  }
}
