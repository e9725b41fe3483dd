// The whole config file's schema (zod v4): the sections, their defaults, and the final step that applies
// the cross-field rules of semantics.ts and yields the normalized Config of types.ts.

import { isIPv6 } from 'node:net';
import { z } from 'zod';
import { asn, canonicalIp, int, ipv4, mapped, port, strict } from './fields.js';
import { DEFAULT_FLOW_TABLE_SIZE, MAX_FLOW_TABLE, MIN_FLOW_TABLE } from './flow-memory.js';
import { MAX_SERVICES } from './limits.js';
import { bgpSchema, kernelRouteSchema } from './schema-bgp.js';
import { etcdSchema } from './schema-etcd.js';
import { addressPairSchema, serviceSchema } from './schema-service.js';
import { applySemantics } from './semantics.js';
import type { ClusterConfig, Config, DataplaneConfig, NodeConfig } from './types.js';

export const DEFAULT_CONFIG_PATH = '/etc/anycastd/anycastd.yaml';
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9469';
export const DEFAULT_API_SOCKET = '/run/anycastd/anycastd.sock';
/** Maglev's usual table size: a prime well above 100 × the instance count. */
export const DEFAULT_RING_SIZE = 65_537;
/**
 * The agents' state endpoint (src/cluster/): the same port on every host. Privileged (< 1024), so no other
 * local user can take it while the agent is down; 947/tcp is unassigned in the IANA registry.
 */
export const DEFAULT_CLUSTER_PORT = 947;
export const DEFAULT_MTU = 1500;
/** The flood guard's rate: flow inserts per CPU per second (Katran's MAX_CONN_RATE); 0 turns it off. */
export const DEFAULT_FLOOD_NEW_FLOWS = 125_000;
const MAX_FLOOD_NEW_FLOWS = 0xffffffff;
/** IPv6's minimum link MTU (RFC 8200) bounds the fabric MTU below. */
const MIN_MTU = 1280;
const MAX_MTU = 9216;
const MAX_RING_SIZE = (1 << 24) - 3;
const MIN_RING_SIZE = 3;
const HOST_PORT_RE = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/;

/** "127.0.0.1:9469" or "[::1]:9469" → canonical text, or undefined. */
export function parseListen(text: string): string | undefined {
  const m = HOST_PORT_RE.exec(text);
  const host = m ? canonicalIp(m[1] ?? m[2]!) : undefined;
  const p = m ? Number(m[3]) : 0;
  if (host === undefined || p < 1 || p > 0xffff || (m![2] !== undefined && isIPv6(host))) return undefined;
  return isIPv6(host) ? `[${host}]:${p}` : `${host}:${p}`;
}

const LISTEN_EXPECTED = 'an address and port such as "127.0.0.1:9469" or "[::1]:9469"';
const listen = () => mapped(LISTEN_EXPECTED, parseListen);

const nodeSchema = strict({
  id: z.string().min(1),
  host: addressPairSchema,
  asn: asn(),
  router_id: ipv4().optional(),
  // required with dataplane.mode xdp (semantics.ts); unused without XDP
  uplinks: z.array(z.string().min(1)).default([]),
}).transform(
  (n): NodeConfig => ({
    id: n.id,
    host: n.host,
    asn: n.asn,
    routerId: n.router_id ?? n.host.ipv4 ?? '',
    uplinks: n.uplinks,
  }),
);

const dataplaneSchema = strict({
  mode: z.enum(['xdp', 'none']).default('xdp'),
  xdp_mode: z.enum(['native', 'generic']).default('native'),
  mtu: int(MIN_MTU, MAX_MTU).default(DEFAULT_MTU),
  flow_table_size: int(MIN_FLOW_TABLE, MAX_FLOW_TABLE).default(DEFAULT_FLOW_TABLE_SIZE),
  ring_size: int(MIN_RING_SIZE, MAX_RING_SIZE).default(DEFAULT_RING_SIZE),
  max_services: int(1, MAX_SERVICES).optional(),
  forget_closed_flows: z.boolean().default(true),
  record_flows: z.enum(['all', 'movable']).default('all'),
  flood_guard: strict({
    new_flows_per_cpu_per_s: int(0, MAX_FLOOD_NEW_FLOWS).default(DEFAULT_FLOOD_NEW_FLOWS),
  }).default({ new_flows_per_cpu_per_s: DEFAULT_FLOOD_NEW_FLOWS }),
}).transform(
  (d): DataplaneConfig => ({
    mode: d.mode,
    xdpMode: d.xdp_mode,
    mtu: d.mtu,
    flowTableSize: d.flow_table_size,
    floodNewFlowsPerCpu: d.flood_guard.new_flows_per_cpu_per_s,
    ringSize: d.ring_size,
    maxServices: d.max_services ?? null,
    forgetClosedFlows: d.forget_closed_flows,
    recordFlows: d.record_flows,
  }),
);

const clusterSchema = strict({
  backend: z.enum(['mesh', 'etcd']).default('mesh'),
  etcd: etcdSchema.optional(),
  enabled: z.boolean().default(true),
  port: port().default(DEFAULT_CLUSTER_PORT),
  key_file: z.string().startsWith('/').optional(),
}).transform(
  (c): ClusterConfig => ({
    backend: c.backend,
    etcd: c.etcd ?? null,
    enabled: c.enabled,
    port: c.port,
    keyFile: c.key_file ?? null,
    keys: null,
  }),
);

export const configSchema = strict({
  node: nodeSchema,
  bgp: bgpSchema.default({ peers: [] }),
  kernel_route: kernelRouteSchema.optional(),
  services: z.array(serviceSchema).default([]),
  metrics: strict({ listen: listen().default(DEFAULT_METRICS_LISTEN) }).optional(),
  api: strict({
    socket: z.string().startsWith('/').default(DEFAULT_API_SOCKET),
    group: z.string().min(1).optional(),
  }).optional(),
  dataplane: dataplaneSchema.optional(),
  cluster: clusterSchema.optional(),
}).transform((c, ctx): Config => {
  const cfg: Config = {
    file: '',
    node: c.node,
    peers: c.bgp.peers,
    kernelRoute: c.kernel_route ?? kernelRouteSchema.parse({}),
    services: c.services,
    metrics: { listen: c.metrics?.listen ?? DEFAULT_METRICS_LISTEN },
    api: { socket: c.api?.socket ?? DEFAULT_API_SOCKET, group: c.api?.group ?? null },
    dataplane: c.dataplane ?? dataplaneSchema.parse({}),
    cluster: c.cluster ?? clusterSchema.parse({}),
  };
  applySemantics(cfg, (path, expected, found) => {
    ctx.issues.push({
      code: 'custom',
      message: expected,
      path,
      input: undefined,
      params: found ? { found } : {},
    });
  });
  return cfg;
});
