// The process's own health in the standard exposition names every Prometheus client uses (prom-client's
// default collectors): process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds, and the Node.js runtime's nodejs_eventloop_lag_seconds
// (and its percentiles), heap and GC figures — on the agent's own registry, read at scrape time. Beside
// them, whether the last config reload succeeded and when a config was last taken in (the start's load
// counts as one), so an alert can say "reload failed" without parsing logs.
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';
import { PREFIX } from './factory.js';

/** Resolution of the event-loop delay histogram (ms): fine enough for the few-ms stalls the design bounds. */
export const EVENT_LOOP_PRECISION_MS = 10;

export interface ReloadGauges {
  /** Records a reload's outcome at `atSeconds` (unix time). */
  record(ok: boolean, atSeconds: number): void;
}

export function defineProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_PRECISION_MS });
}

/** The config's gauges, starting as "the config loaded at start succeeded at `startSeconds`". */
export function defineReloadGauges(registry: Registry, startSeconds: number): ReloadGauges {
  const successful = new Gauge({
    name: `${PREFIX}config_last_reload_successful`,
    help: 'Whether the last config reload succeeded (1) or was rejected (0); 1 after the start.',
    registers: [registry],
  });
  const successAt = new Gauge({
    name: `${PREFIX}config_last_reload_success_timestamp_seconds`,
    help: 'Unix time of the last successful config load (the start, or a reload).',
    registers: [registry],
  });
  successful.set(1);
  successAt.set(startSeconds);
  return {
    record(ok, atSeconds) {
      successful.set(ok ? 1 : 0);
      if (ok) successAt.set(atSeconds);
    },
  };
}
