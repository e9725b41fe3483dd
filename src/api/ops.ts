// The operator's surfaces of a running agent, started in one call from `anycastd run`: the Prometheus
// registry and its /metrics server on config.metrics.listen, and the control socket on config.api.socket
// (mode 0660, group config.api.group). Health transitions and reloads are counted from the agent's log
// events, so nothing else has to call the metrics.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LogRecord } from '../agent/log.js';
import type { RunContext } from '../agent/run.js';
import type { TransitionReason } from '../health/types.js';
import { agentMetricsSource, type LastChange, type OpsParts } from '../metrics/agent-source.js';
import { AnycastdMetrics } from '../metrics/metrics.js';
import { MetricsServer } from '../metrics/server.js';
import { projectRoot } from '../native/addon.js';
import { agentHandler, receivedRouteInfo } from './agent-handler.js';
import { ApiServer } from './server.js';

export interface Ops {
  metrics: AnycastdMetrics;
  metricsServer: MetricsServer;
  api: ApiServer;
  close(): Promise<void>;
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
}

export async function startOps(parts: OpsParts, opts: OpsOptions = {}): Promise<Ops> {
  const config = parts.agent.config;
  const lastChange = new Map<string, LastChange>();
  let loadedAt = Date.now();
  const source = agentMetricsSource(parts);
  const metrics =
    opts.metrics ?? new AnycastdMetrics(source, { version: parts.version, node: config.node.id }, config);
  metrics.setSource(source);
  metrics.configure(config);
  parts.agent.on('log', (r: LogRecord) => {
    if (r.event === 'health-transition' && r.service && typeof r.instance === 'string') {
      metrics.transition(r.service, r.instance, r.reason as TransitionReason);
      if (r.local === true) lastChange.set(r.service, { reason: String(r.reason), at: Date.parse(r.time) });
    } else if (r.event === 'config-reloaded') {
      loadedAt = Date.now();
      metrics.reload('success');
      metrics.configure(parts.agent.config);
    } else if (r.event === 'config-rejected') metrics.reload('failure');
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

/** The `onStarted` hook of runAgent (src/agent/run.ts): starts the ops surfaces, returns their closer. */
export function opsOnStarted(version: string): (ctx: RunContext) => Promise<() => void> {
  return async (ctx) => {
    const received = ctx.received;
    const ops = await startOps(
      {
        agent: ctx.agent,
        steering: ctx.steering,
        cluster: ctx.cluster,
        ...(ctx.peers ? { peers: ctx.peers } : {}),
        ...(received ? { received: () => received().map(receivedRouteInfo) } : {}),
        version,
        startedAt: ctx.startedAt,
      },
      { metrics: ctx.metrics },
    );
    return () => {
      void ops.close();
    };
  };
}

/** anycastd's version, from package.json. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}
