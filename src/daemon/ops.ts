// The operator's surfaces of a running agent, started in one call: the Prometheus registry and its
// /metrics server on config.metrics.listen, and the control socket on config.api.socket (mode 0660, group
// config.api.group). Health transitions and reloads are counted from the agent's log events, so nothing
// else has to call the metrics.
import type { LogRecord } from '../agent/log.js';
import { agentHandler } from '../api/agent-handler.js';
import type { LastChange, OpsParts } from '../api/agent-view.js';
import { ApiServer } from '../api/server.js';
import { type Clock, systemClock } from '../clock.js';
import type { TransitionReason } from '../health/types.js';
import { AnycastdMetrics } from '../metrics/metrics.js';
import { type MetricsParts, metricsSource } from '../metrics/parts-source.js';
import { MetricsServer } from '../metrics/server.js';
import type { ClusterMetrics } from '../metrics/sources.js';

export interface Ops {
  metrics: AnycastdMetrics;
  metricsServer: MetricsServer;
  api: ApiServer;
  close(): Promise<void>;
}

/** What both surfaces read: the operator's view, plus what only the metrics count. */
export interface OpsWiring extends OpsParts {
  /** The cluster channel (Cluster.counters). */
  cluster?: { counters(): ClusterMetrics };
  /** Inbound BGP connections refused at accept (BgpSpeaker.connectionsRefused). */
  bgpConnectionsRefused?: () => number;
  /** BFD packets dropped by reason (src/bfd). */
  bfdDrops?: () => Readonly<Record<string, number>>;
  xdp?: MetricsParts['xdp'];
}

/** Overrides of the config's addresses (tests), and metrics made before the agent. */
export interface OpsOptions {
  metricsListen?: string;
  socket?: string;
  /**
   * Metrics created before the agent, so its health factory can time the probes with them
   * (ServiceHealth's probeFor: timedProbeFor(metrics, service), src/metrics/probe-timing.ts).
   */
  metrics?: AnycastdMetrics;
  /** Stamps the time the config was loaded (default the system clock). */
  clock?: Clock;
}

export async function startOps(parts: OpsWiring, opts: OpsOptions = {}): Promise<Ops> {
  const clock = opts.clock ?? systemClock;
  const config = parts.agent.config;
  const lastChange = new Map<string, LastChange>();
  let loadedAt = clock.wallNow();
  const { cluster } = parts;
  const source = metricsSource({
    config: () => parts.agent.config,
    services: () => parts.agent.status().services,
    peers: parts.peers,
    bgpConnectionsRefused: parts.bgpConnectionsRefused,
    bfdDrops: parts.bfdDrops,
    dataplane: parts.steering?.dataplane,
    cluster: cluster ? () => cluster.counters() : undefined,
    etcd: parts.store ? () => parts.store!.snapshot() : undefined,
    xdp: parts.xdp,
  });
  const metrics =
    opts.metrics ?? new AnycastdMetrics(source, { version: parts.version, node: config.node.id }, config);
  metrics.setSource(source);
  metrics.configure(config);
  metrics.configLoaded(true, loadedAt);
  parts.agent.on('log', (r: LogRecord) => {
    if (r.event === 'health-transition' && r.service && typeof r.instance === 'string') {
      metrics.transition(r.service, r.instance, r.reason as TransitionReason);
      if (r.local === true)
        lastChange.set(r.service, {
          reason: String(r.reason),
          at: Date.parse(r.time),
          check: typeof r.check === 'string' ? r.check : '',
          detail: typeof r.detail === 'string' ? r.detail : '',
        });
    } else if (r.event === 'config-reloaded') {
      loadedAt = clock.wallNow();
      metrics.reload('success');
      metrics.configLoaded(true, loadedAt);
      metrics.configure(parts.agent.config);
    } else if (r.event === 'config-rejected' || r.event === 'config-reload-failed') {
      metrics.reload('failure');
      metrics.configLoaded(false, clock.wallNow());
    }
  });
  const metricsServer = await MetricsServer.listen(metrics, opts.metricsListen ?? config.metrics.listen);
  let api: ApiServer;
  try {
    api = await ApiServer.listen({
      path: opts.socket ?? config.api.socket,
      group: config.api.group,
      handler: agentHandler(parts, { lastChange, configLoadedAt: () => loadedAt }),
    });
  } catch (err) {
    await metricsServer.close();
    throw err;
  }
  return {
    metrics,
    metricsServer,
    api,
    close: async () => {
      await Promise.all([api.close(), metricsServer.close()]);
    },
  };
}
