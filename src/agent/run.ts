// `anycastd run -c FILE`: load the config, build the real parts — the data plane (load the steering
// program adopting the maps pinned by a previous run, attach it to every uplink: a plain attach
// atomically replaces the previous run's program, so no packet meets an interface without one), lo
// over rtnetlink, the health layer with the listener watcher, the BGP speaker with the kernel's default
// route writer, the cluster endpoint and pollers (src/cluster/) — and run the Agent until SIGTERM/SIGINT.
// SIGHUP reloads the config.
//
// systemd (Type=notify, sd_notify(3)): WATCHDOG=1 pings from the start; READY=1 once XDP is attached to
// every uplink, the BGP speaker listens and the agent runs; RELOADING=1 … READY=1 around a SIGHUP reload;
// STOPPING=1 on SIGTERM/SIGINT; a STATUS= line with each.
//
// On SIGTERM/SIGINT: the agent withdraws every VIP and waits (bounded) until the peers were sent it;
// then the speaker closes its sessions (Cease) and the process exits 0, within a bounded time. The XDP
// program stays attached and its maps stay pinned (see agent.ts for why): a restart adopts them.
//
// Every part logs through one rate-limited sink (log-limit.ts), and the health checks report the agent
// faults they meet — a probe this process had no fd for — to ResourceFaults, which keeps an fd reserve.

import type { PeerStatus, ReceivedRoute } from '../bgp/speaker-status.js';
import { Cluster } from '../cluster/cluster.js';
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
import { ifIndex } from '../native/xdp.js';
import { Dataplane, DEFAULT_PIN_DIR } from '../steer/dataplane.js';
import { FlowReaper } from '../steer/flow-reaper.js';
import { Agent, DEFAULT_STOP_TIMEOUT_MS } from './agent.js';
import { sockDiagConnections } from './connections.js';
import { realHealth } from './health.js';
import { jsonLineSink, type LogSink, makeRecord } from './log.js';
import { LogLimiter } from './log-limit.js';
import type { AnnouncerHandle } from './ports.js';
import { startSpeaker } from './speaker.js';
import { Steering } from './steering.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;
/** Hard bound on the whole shutdown, beyond the agent's own: exit even if something hangs. */
export const EXIT_GRACE_MS = 2000;
/** Bound on holding the checks back until a peer has given this host a route (see untilRouted). */
export const ROUTED_WAIT_MS = 5000;
const ROUTED_POLL_MS = 20;
/** How often the agent records that it is alive in the pins (Dataplane.heartbeat). */
const HEARTBEAT_MS = 1_000;

export interface RunOptions {
  configFile: string;
  /** Builds the announcer; default: the BGP speaker of src/bgp (tests: a recorder). */
  announcer?: (config: Config, sink: LogSink) => Promise<AnnouncerHandle>;
  /** bpffs directory of the pinned maps (default /sys/fs/bpf/anycastd). */
  pinDir?: string;
  stopTimeoutMs?: number;
  sink?: LogSink;
  /** Tells systemd about start, reload and stop (default: from $NOTIFY_SOCKET, a no-op without it). */
  notifier?: SystemdNotifier;
  /** anycastd's version for the metrics' build info (default 0.0.0). */
  version?: string;
  /**
   * Called once the agent is built, just before it starts (so nothing it logs is missed), with its
   * parts: the place to start the ops layer (metrics, control socket) or, in tests, to read status().
   * What it returns is called on the way out.
   */
  onStarted?: (ctx: RunContext) => Promise<Closer | undefined> | Closer | undefined;
}

type Closer = () => void;

export interface RunContext {
  agent: Agent;
  steering: Steering;
  /** The agents' exchange of instance reports (src/cluster/). */
  cluster: Cluster;
  /** The speaker's peers (absent for an announcer that is no speaker). */
  peers?: () => readonly PeerStatus[];
  /** Routes received from the peers (the speaker's Adj-RIB-In). */
  received?: () => readonly ReceivedRoute[];
  /** Made before the agent: its health checks record their durations here. */
  metrics: AnycastdMetrics;
  /** Unix time (ms) the agent started. */
  startedAt: number;
}

/** Runs until a stop signal; resolves with the exit code. */
export async function runAgent(opts: RunOptions): Promise<number> {
  const logs = new LogLimiter(opts.sink ?? jsonLineSink());
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
  const closers: (() => void)[] = [() => logs.close()];
  const faults = startResourceFaults((level, event, fields) => sink(makeRecord(level, event, fields)));
  closers.push(() => faults.close());
  const notifier =
    opts.notifier ??
    new SystemdNotifier({ onError: (error) => sink(makeRecord('warn', 'systemd-notify-failed', { error })) });
  notifier.startWatchdog();
  notifier.status(`starting: attaching XDP to ${config.node.uplinks.join(',')}`);
  closers.push(() => notifier.stopWatchdog());
  const signals = new Signals(notifier);
  closers.push(() => signals.close());
  try {
    const { ipv4, ipv6 } = config.node.host;
    const dp = Dataplane.open({
      pinDir: opts.pinDir ?? DEFAULT_PIN_DIR,
      ringSize: config.dataplane.ringSize,
      mtu: config.dataplane.mtu,
      ...(ipv4 ? { host4: ipv4 } : {}),
      ...(ipv6 ? { host6: ipv6 } : {}),
    });
    closers.push(() => dp.close()); // closing our fds leaves the attached program and the pins in place
    // read before the first beat: how old the adopted pins are (ms, logged)
    const pinsAgeMs = dp.pinsAgeMs === null ? null : Math.round(dp.pinsAgeMs);
    dp.heartbeat();
    const beat = setInterval(() => dp.heartbeat(), HEARTBEAT_MS);
    beat.unref();
    closers.push(() => clearInterval(beat));
    for (const uplink of config.node.uplinks) dp.attach(ifIndex(uplink), config.dataplane.xdpMode);
    sink(
      makeRecord('info', 'xdp-attached', {
        reason: 'start',
        uplinks: config.node.uplinks,
        adopted: dp.adopted,
        pins_age_ms: pinsAgeMs,
      }),
    );
    const lo = new LoAddresses();
    closers.push(() => lo.close());
    const { watcher } = createListenerWatcher({
      onSourceError: (error) => sink(makeRecord('warn', 'listener-list-failed', { error })),
    });
    closers.push(() => watcher.close());
    const bgp = await (opts.announcer ?? startSpeaker)(config, sink);
    closers.push(() => bgp.close());
    const connections = sockDiagConnections(config);
    closers.push(() => connections.close());
    notifier.status('starting: BGP listening, waiting for a peer route');
    await untilRouted(config, bgp, sink);
    const steering = new Steering(dp);
    // connections that end here take their flow entries with them (src/steer/flow-reaper.ts)
    if (config.dataplane.forgetClosedFlows) {
      const reaper = FlowReaper.start(dp, {
        onOverrun: (err) => sink(makeRecord('warn', 'flow-reaper-overrun', { error: err.message })),
      });
      closers.push(() => reaper.close());
    }
    if (steering.staleAdoption) sink(makeRecord('info', 'pins-stale', { pins_age_ms: pinsAgeMs }));
    const cluster = new Cluster(config, {
      log: (level, event, fields) => sink(makeRecord(level, event, fields)),
    });
    closers.push(() => void cluster.close());
    await cluster.start();
    const build = { version: opts.version ?? '0.0.0', node: config.node.id };
    const metrics = new AnycastdMetrics({}, build, config); // before the agent: its probes are timed
    defineAgentCounters(metrics.registry, {
      logSuppressed: () => logs.suppressed,
      resourceFaults: () => faults.counts,
    });
    const agent = new Agent(config, {
      announcer: bgp.announcer,
      host: lo,
      steering,
      health: realHealth({
        watcher,
        probeFor: (service) => faults.probeFor(service, timedProbeFor(metrics, service)),
      }),
      connections,
      cluster,
      sink,
    });
    const closeOps = await opts.onStarted?.({
      agent,
      steering,
      cluster,
      ...(bgp.peers ? { peers: bgp.peers } : {}),
      ...(bgp.received ? { received: bgp.received } : {}),
      ...(bgp.connectionsRefused ? { bgpConnectionsRefused: bgp.connectionsRefused } : {}),
      metrics,
      startedAt: Date.now(),
    });
    if (closeOps) closers.push(closeOps);
    agent.start();
    notifier.ready(runningStatus(config));
    const signal = await signals.run(agent);
    notifier.stopping(`stopping (${signal}): withdrawing every VIP`);
    agent.log('info', 'signal-received', { reason: signal.toLowerCase() });
    const bound = opts.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const hard = setTimeout(() => process.exit(EXIT_OK), bound + EXIT_GRACE_MS);
    hard.unref();
    await agent.stop(bound);
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

/**
 * The signals, taken over from the start (a SIGHUP while starting must not kill the process): SIGHUP
 * reloads once the agent runs, the first SIGTERM or SIGINT stops it (also one that came during start).
 */
class Signals {
  #agent: Agent | null = null;
  #stop: NodeJS.Signals | null = null;
  #wake: ((signal: NodeJS.Signals) => void) | null = null;
  readonly #notifier: SystemdNotifier;
  readonly #onHup = (): void => {
    const agent = this.#agent;
    if (!agent) return;
    this.#notifier.reloading('reloading the config (SIGHUP)');
    void agent.reload().then(
      (result) =>
        this.#notifier.ready(runningStatus(agent.config, result.ok ? undefined : 'reload rejected')),
      () => this.#notifier.ready(runningStatus(agent.config, 'reload failed')),
    );
  };
  readonly #onStop = (signal: NodeJS.Signals): void => {
    this.#stop ??= signal;
    this.#wake?.(signal);
  };

  constructor(notifier: SystemdNotifier) {
    this.#notifier = notifier;
    process.on('SIGHUP', this.#onHup);
    process.on('SIGTERM', this.#onStop);
    process.on('SIGINT', this.#onStop);
  }

  /** Serves SIGHUP for `agent` until a stop signal; resolves with it. */
  run(agent: Agent): Promise<NodeJS.Signals> {
    this.#agent = agent;
    if (this.#stop) return Promise.resolve(this.#stop);
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  close(): void {
    process.off('SIGHUP', this.#onHup);
    process.off('SIGTERM', this.#onStop);
    process.off('SIGINT', this.#onStop);
  }
}

/** The STATUS= line while running: what is served, and the last reload's trouble if any. */
function runningStatus(config: Config, trouble?: string): string {
  const s = `running: ${config.services.length} services, ${config.peers.length} peers, XDP on ${config.node.uplinks.join(',')}`;
  return trouble ? `${s} (${trouble}; the running config is kept)` : s;
}

/**
 * Before the checks start, wait (bounded) until a peer is Established and has given this host an accepted
 * route (the default): checks of remote instances need a way out. Checks that fail only because this host
 * has no route yet settle the remote instances as down; after a restart the agent then advertised its VIP
 * with a ring of itself alone (~0.5 s, until the remote checks rose) and answered the other hosts' flows
 * that reached it with RSTs (found in the lab: test/e2e/connections.test.ts).
 */
async function untilRouted(config: Config, bgp: AnnouncerHandle, sink: LogSink): Promise<void> {
  const peers = bgp.peers;
  if (!peers || config.peers.length === 0) return;
  const start = Date.now();
  const routed = (): boolean => peers().some((p) => p.state === 'established' && p.prefixesAccepted > 0);
  while (!routed() && Date.now() - start < ROUTED_WAIT_MS)
    await new Promise((resolve) => setTimeout(resolve, ROUTED_POLL_MS));
  sink(
    makeRecord('info', 'routes-ready', {
      reason: routed() ? 'peer-route-accepted' : 'timeout',
      ms: Date.now() - start,
    }),
  );
}
