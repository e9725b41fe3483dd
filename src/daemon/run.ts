// `anycastd run -c FILE`: the composition root of one process. Loads the config and builds the real
// parts — the data plane (dataplane.ts), lo over rtnetlink, the health layer with the listener watcher
// (health.ts), the BGP speaker with the kernel's default route writer (speaker.ts), the client
// connections counted by sock_diag (connections.ts), the cluster endpoint and pollers (src/cluster/), the
// metrics and the control socket (ops.ts) — hands them to the Agent, and runs it until SIGTERM/SIGINT.
// SIGHUP reloads the config (signals.ts). Every wait and time stamp here goes through the clock given.
//
// systemd (Type=notify, sd_notify(3)): WATCHDOG=1 pings from the start; READY=1 once XDP is attached to
// every uplink, the BGP speaker listens and the agent runs; RELOADING=1 … READY=1 around a SIGHUP reload;
// STOPPING=1 on SIGTERM/SIGINT; a STATUS= line with each.
//
// On SIGINT (and on SIGTERM when no peer has graceful restart): the agent withdraws every VIP and waits
// (bounded) until the peers were sent it; then the speaker closes its sessions (Cease) and the process
// exits 0, within a bounded time. On SIGTERM with graceful restart (restart-rule.ts): nothing is
// withdrawn and those sessions close without a NOTIFICATION, so the peers keep our routes while the
// agent restarts (RFC 4724). Either way the XDP program stays attached and its maps stay pinned (see
// src/agent/agent.ts for why): a restart adopts them.
//
// Every part logs through one rate-limited sink (src/agent/log-limit.ts), and the health checks report the
// agent faults they meet — a probe this process had no fd for — to ResourceFaults, which keeps an fd reserve.

import { Agent, DEFAULT_STOP_TIMEOUT_MS } from '../agent/agent.js';
import { jsonLineSink, type Level, type LogSink, makeRecord } from '../agent/log.js';
import { LogLimiter } from '../agent/log-limit.js';
import { NoSteering } from '../agent/no-steering.js';
import { Steering } from '../agent/steering.js';
import { receivedRouteInfo } from '../api/agent-handler.js';
import type { AnnouncerHandle } from '../bgp/announcer.js';
import { type Clock, sleep } from '../clock.js';
import { Cluster } from '../cluster/cluster.js';
import type { EtcdCluster } from '../cluster/etcd/etcd-cluster.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { ConfigError } from '../errors.js';
import { createListenerWatcher } from '../health/listener-sources.js';
import { startResourceFaults } from '../health/resource-faults.js';
import { LoAddresses } from '../host/lo-addresses.js';
import { defineAgentCounters } from '../metrics/agent-counters.js';
import { AnycastdMetrics } from '../metrics/metrics.js';
import { timedProbeFor } from '../metrics/probe-timing.js';
import { SystemdNotifier } from '../native/notify.js';
import { DEFAULT_PIN_DIR } from '../steer/dataplane.js';
import { removeReaperPin, startFlowReaper } from '../steer/flow-reaper.js';
import { MaglevThread, type TableBuilder } from '../steer/maglev-pool.js';
import { sockDiagConnections } from './connections.js';
import { startDataplane } from './dataplane.js';
import { realHealth } from './health.js';
import { type OpsWiring, startOps } from './ops.js';
import { startIsRestart, stopKeepsRoutes } from './restart-rule.js';
import { untilRouted } from './routed.js';
import { runningStatus, Signals } from './signals.js';
import { startSpeaker } from './speaker.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
/** Hard bound on the whole shutdown, beyond the agent's own: exit even if something hangs. */
export const EXIT_GRACE_MS = 2000;
/** How long a leaving host waits for the store to take its lease back (revoke) before it exits anyway. */
const STORE_LEAVE_MS = 1000;

export interface DaemonOptions {
  configFile: string;
  /** Every timer and time stamp of the process (`anycastd run`: systemClock). */
  clock: Clock;
  /** Builds the announcer; default: the BGP speaker of src/bgp (tests: a recorder). */
  announcer?: (
    config: Config,
    sink: LogSink,
    clock: Clock,
    start: { restarting: boolean },
  ) => Promise<AnnouncerHandle>;
  /** bpffs directory of the pinned maps (default /sys/fs/bpf/anycastd). */
  pinDir?: string;
  stopTimeoutMs?: number;
  sink?: LogSink;
  /** Tells systemd about start, reload and stop (default: from $NOTIFY_SOCKET, a no-op without it). */
  notifier?: SystemdNotifier;
  /** anycastd's version for the metrics' build info and the control API (default 0.0.0). */
  version?: string;
  /** Serve /metrics and the control socket on the config's addresses (default true). */
  ops?: boolean;
  /**
   * Called once the agent is built, just before it starts (so nothing it logs is missed), with its
   * parts (tests read status() here). What it returns is called on the way out.
   */
  onStarted?: (ctx: RunContext) => Promise<Closer | undefined> | Closer | undefined;
  /** Builds the rings' Maglev tables (default: a worker thread, MaglevThread; null: on the event loop). */
  tableBuilder?: TableBuilder | null;
}

type Closer = () => void;

/** The parts of a running process, as the operator's surfaces read them. */
export interface RunContext extends OpsWiring {
  agent: Agent;
  /** The data plane's steering; absent with dataplane.mode none. */
  steering?: Steering;
  /** The agents' exchange of instance reports (src/cluster/; absent with the etcd backend: `store`). */
  cluster?: Cluster;
  /** The etcd backend (src/cluster/etcd/; absent with the mesh). */
  store?: EtcdCluster;
  /** Made before the agent: its health checks record their durations here. */
  metrics: AnycastdMetrics;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { clock } = opts;
  const logs = new LogLimiter(opts.sink ?? jsonLineSink(), { clock });
  const sink = logs.sink;
  const fail = (event: string, err: unknown, code: number): number => {
    sink(makeRecord('error', event, { reason: 'start-failed', error: err }));
    return code;
  };
  let config: Config;
  try {
    config = await loadConfig(opts.configFile);
  } catch (err) {
    return fail('config-rejected', err, err instanceof ConfigError ? EXIT_CONFIG : EXIT_FAILED);
  }
  const closers: Closer[] = [() => logs.close()];
  const log = (level: Level, event: string, fields: Record<string, unknown>): void =>
    sink(makeRecord(level, event, fields));
  const faults = startResourceFaults(log);
  closers.push(() => faults.close());
  const notifier =
    opts.notifier ??
    new SystemdNotifier({ onError: (error) => log('warn', 'systemd-notify-failed', { error }) });
  notifier.startWatchdog();
  const withXdp = config.dataplane.mode === 'xdp';
  notifier.status(
    withXdp
      ? `starting: attaching XDP to ${config.node.uplinks.join(',')}`
      : 'starting: no data plane (BGP and health only)',
  );
  closers.push(() => notifier.stopWatchdog());
  const signals = new Signals(notifier);
  /** The stop is a restart under graceful restart: the peers keep our routes (restart-rule.ts). */
  let keepRoutes = false;
  closers.push(() => signals.close());
  try {
    // The metrics first (before the agent: its probes are timed): every series a config implies is made
    // here at once, seconds of loop at 10,000 VIPs, which no BGP session must sit through.
    const version = opts.version ?? '0.0.0';
    const metrics = new AnycastdMetrics({}, { version, node: config.node.id }, config);
    defineAgentCounters(metrics.registry, {
      logSuppressed: () => logs.suppressed,
      resourceFaults: () => faults.counts,
    });
    // dataplane.mode none: no program, no maps, no pins, no bpffs mount
    const data = withXdp ? startDataplane(config, opts.pinDir ?? DEFAULT_PIN_DIR, clock, sink) : null;
    if (data) closers.push(() => data.close());
    else log('info', 'dataplane-off', { reason: 'mode-none' });
    const lo = new LoAddresses();
    closers.push(() => lo.close());
    const listenerWatch = createListenerWatcher({
      onSourceError: (error) => log('warn', 'listener-list-failed', { error }),
    });
    const { watcher } = listenerWatch;
    closers.push(() => listenerWatch.close());
    if (!listenerWatch.errorSign)
      log('info', 'http-error-sign-off', { reason: 'no packet tap (CAP_NET_RAW)' });
    const restarting = startIsRestart(config, data?.pinsAgeMs ?? null);
    if (restarting) log('info', 'graceful-restart-start', { pins_age_ms: data?.pinsAgeMs });
    // The etcd backend's client before BGP: loading its library holds the loop for seconds on a busy
    // host, which past a peer's hold time resets the sessions (seen in the lab at load 30). Its first read
    // runs beside BGP's start and the first round of checks; a service settles only once the store has
    // been read (agent/service-agent.ts), so nothing waits for it here.
    // (its modules are loaded only when configured: a mesh agent never loads them)
    const store =
      config.cluster.backend === 'etcd'
        ? new (await import('../cluster/etcd/etcd-cluster.js')).EtcdCluster(config, {
            log,
            clock,
            stateDirectory: process.env.STATE_DIRECTORY ?? null,
          })
        : null;
    if (store) {
      closers.push(() => void store.close());
      void store.start().catch((error: unknown) => log('error', 'cluster-start-failed', { error }));
    }
    const bgp = await (opts.announcer ?? startSpeaker)(config, sink, clock, { restarting });
    closers.push(() => bgp.close({ restart: keepRoutes }));
    const connections = sockDiagConnections(config);
    closers.push(() => connections.close());
    notifier.status('starting: BGP listening, waiting for a peer route');
    await untilRouted(config, bgp, sink, clock);
    // Maglev tables are built on a worker thread: a ring change never holds the loop for a build.
    const thread = opts.tableBuilder === undefined ? new MaglevThread() : null;
    thread?.start(); // up well before a failover needs it; until then tables are built on the loop
    if (thread) closers.push(() => void thread.close());
    const builder = thread ?? opts.tableBuilder ?? undefined;
    const steering = data
      ? new Steering(data.dp, clock, {
          ...(builder ? { builder } : {}),
          onError: (error, what) => log('error', 'ring-write-failed', { ring: what, error }),
        })
      : null;
    // connections that end here take their flow entries with them (src/steer/flow-reaper.ts): a kernel
    // program pinned beside the maps, else (refused, said once) a listener in this process
    const pinDir = opts.pinDir ?? DEFAULT_PIN_DIR;
    if (data && config.dataplane.forgetClosedFlows) {
      const reaper = startFlowReaper(data.dp, {
        pinDir,
        onFallback: (err) => log('warn', 'flow-reaper-fallback', { error: err.message }),
        onOverrun: (err) => log('warn', 'flow-reaper-overrun', { error: err.message }),
      });
      log('info', 'flow-reaper', { kind: reaper.kind });
      closers.push(() => reaper.close());
    } else if (data) {
      removeReaperPin(pinDir); // an earlier agent's kernel reaper would go on reaping
    }
    if (data && steering?.staleAdoption) log('info', 'pins-stale', { pins_age_ms: data?.pinsAgeMs });
    // the other hosts' instances: the mesh (reports between the agents) or the etcd store
    const cluster = store ?? new Cluster(config, { log, clock });
    if (!store) {
      closers.push(() => void cluster.close());
      await cluster.start();
    }
    const agent = new Agent(config, {
      announcer: bgp.announcer,
      host: lo,
      steering: steering ?? new NoSteering(),
      health: realHealth({
        watcher,
        probeFor: (service) => faults.probeFor(service, timedProbeFor(metrics, service)),
        clock,
      }),
      connections,
      cluster,
      sink,
      clock,
    });
    const { peers, received, sent, connectionsRefused, bfdDrops, peerDetail, resetPeer } = bgp;
    const ctx: RunContext = {
      agent,
      ...(steering ? { steering } : {}),
      ...(store ? { store } : { cluster: cluster as Cluster }),
      metrics,
      version,
      startedAt: clock.wallNow(),
      ...(peers ? { peers } : {}),
      ...(peerDetail ? { peerDetail } : {}),
      ...(resetPeer ? { resetPeer } : {}),
      ...(received ? { received: () => received().map(receivedRouteInfo) } : {}),
      ...(sent ? { sent } : {}),
      ...(connectionsRefused ? { bgpConnectionsRefused: connectionsRefused } : {}),
      ...(bfdDrops ? { bfdDrops } : {}),
    };
    if (opts.ops ?? true) {
      const ops = await startOps(ctx, { metrics, clock });
      closers.push(() => void ops.close());
    }
    const closeHook = await opts.onStarted?.(ctx);
    if (closeHook) closers.push(closeHook);
    agent.start();
    notifier.ready(runningStatus(config));
    const signal = await signals.run(agent);
    keepRoutes = stopKeepsRoutes(agent.config, signal) && (bgp.restartKeepsRoutes?.() ?? false);
    notifier.stopping(
      `stopping (${signal}): ${keepRoutes ? 'restart, the peers keep our routes (graceful restart)' : 'withdrawing every VIP'}`,
    );
    agent.log('info', 'signal-received', { reason: signal.toLowerCase(), keepRoutes });
    const bound = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    clock.setTimeout(() => process.exit(EXIT_OK), bound + EXIT_GRACE_MS, { unref: true });
    await agent.stop(bound, { keepRoutes });
    // a host that withdrew is leaving: its instances go out of the others' `new` rings now, not at
    // the lease's expiry (bounded: an unreachable store must not hold the exit)
    if (store && !keepRoutes)
      await Promise.race([
        store.close(true).catch(() => undefined),
        sleep(clock, STORE_LEAVE_MS, undefined, { unref: true }),
      ]);
    await steering?.settled(); // ring writes still queued behind a build land before the maps close
    return EXIT_OK;
  } catch (err) {
    notifier.status(`failed: ${err instanceof Error ? err.message : String(err)}`);
    return fail('agent-failed', err, EXIT_FAILED);
  } finally {
    for (const close of closers.reverse()) {
      try {
        close();
      } catch {
        // closing is best effort on the way out
      }
    }
  }
}
