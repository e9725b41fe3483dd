// The agent: built from a Config and its parts (the RouteAnnouncer, the host's lo, the data plane, the
// health layer), it is the one place that turns health transitions into ordered actions (per service in
// service-agent.ts). Around that it owns the life cycle:
// - start: the host address onto lo and exported, the VIP table written, every service's checks
//   started (START_SLICE services per turn of the event loop, so BGP keepalives and probe results flow
//   between slices), the VIPs that never leave lo put there (every service's in one go, in netlink batches that
//   leave the loop its turn: one summary line, the VIPs themselves at debug); End-of-RIB (RFC 4724) is
//   released only when every service's first round of checks settled;
// - drain/undrain of a service (the drain file is watched by the health layer);
// - reload (SIGHUP or the API): a bad file is rejected whole and logged, the running config untouched;
//   a good one is applied as a diff: unchanged services are not touched (no ring write, no route change);
// - stop (SIGTERM): withdraw every VIP, wait (bounded) until the peers were sent it, and leave the data
//   plane as it is — XDP stays attached and the maps stay pinned, so flows that other hosts forward here
//   keep being decapsulated, packets still arriving over a stale ECMP path keep being steered to their
//   owners, and a restarted agent adopts the maps and keeps every flow.
// Every action is one structured log line; the same records are emitted as 'log' events, and status()
// is the snapshot the metrics/API layer reads.

import { EventEmitter } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { hasApplyPeers, type RouteAnnouncer } from '../bgp/announcer.js';
import { type Clock, systemClock } from '../clock.js';
import type { ClusterPort } from '../cluster/cluster.js';
import { ConfigStore, type ReloadResult } from '../config/reload.js';
import type { Config } from '../config/types.js';
import { AnycastdError } from '../errors.js';
import type { HostAddresses } from '../host/lo-addresses.js';
import type { ConnectionCounter } from './drain-wait.js';
import type { HealthFactory } from './health-port.js';
import { jsonLineSink, type Level, type LogRecord, type LogSink, makeRecord } from './log.js';
import { hostPrefix } from './routes.js';
import { ServiceAgent } from './service-agent.js';
import type { AgentStatus } from './status.js';
import type { SteeringPort } from './steering-port.js';

export type { AgentStatus, InstanceStatus, ServiceStatus } from './status.js';

/** Services made and started per turn of the event loop at start (a turn of ~10-20 ms on a quiet host). */
export const START_SLICE = 50;
/** Bound on waiting for a withdrawal to reach every peer before the ring and lo steps go on anyway. */
export const DEFAULT_FLUSH_TIMEOUT_MS = 2000;
/** Bound on the whole stop (withdraw, wait for the peers). */
export const DEFAULT_STOP_TIMEOUT_MS = 5000;

export interface AgentParts {
  announcer: RouteAnnouncer;
  host: HostAddresses;
  steering: SteeringPort;
  health: HealthFactory;
  /** The other agents' reports of their instances, and ours (src/cluster/); none: own checks only. */
  cluster?: ClusterPort;
  /** Client connections of a service's local instance (drain ends early at zero); none: drain_time only. */
  connections?: ConnectionCounter;
  sink?: LogSink;
  flushTimeoutMs?: number;
  /** Every wait and measured time of the agent (default: the system clock). */
  clock?: Clock;
}

export interface AgentEvents {
  log: [LogRecord];
}

export class Agent extends EventEmitter<AgentEvents> {
  readonly store: ConfigStore;
  readonly #parts: AgentParts;
  readonly #clock: Clock;
  readonly #sink: LogSink;
  readonly #services = new Map<string, ServiceAgent>();
  #started = false;
  #eorReleased = false;
  #stopping = false;
  #reloading: Promise<unknown> = Promise.resolve();
  /** The start is still adding its services (End-of-RIB waits for all of them). */
  #starting = false;
  /** The start's placing of the VIPs that never leave lo. */
  #placing: Promise<void> = Promise.resolve();

  constructor(config: Config | ConfigStore, parts: AgentParts) {
    super();
    this.store = config instanceof ConfigStore ? config : new ConfigStore(config);
    this.#parts = parts;
    this.#clock = parts.clock ?? systemClock;
    this.#sink = parts.sink ?? jsonLineSink();
  }

  get config(): Config {
    return this.store.current;
  }

  log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
    const record = makeRecord(level, event, fields);
    this.#sink(record);
    this.emit('log', record);
  }

  start(): void {
    if (this.#started) throw new AnycastdError('ERR_INVALID_ARGUMENT', 'agent already started');
    this.#started = true;
    const cfg = this.config;
    for (const address of this.#hostAddresses()) {
      if (this.#parts.host.add(address))
        this.log('info', 'host-address-added', { reason: 'host-address', address });
      this.#parts.announcer.advertise(hostPrefix(address));
      this.log('info', 'route-advertised', { reason: 'host-address', vips: [address] });
    }
    this.#parts.steering.setServices(cfg.services);
    this.#parts.cluster?.subscribe((service, instance) =>
      this.#services.get(service)?.reportChanged(instance),
    );
    this.log('info', 'agent-started', { node: cfg.node.id, services: cfg.services.map((s) => s.name) });
    this.#starting = true;
    // the first slice at once (a service that cannot be made fails the start, as a small config's would)
    const statics = cfg.services.slice(0, START_SLICE).flatMap((svc) => this.#addService(svc));
    // a reload waits until every service of the start is there
    this.#reloading = this.#addServices(cfg.services.slice(START_SLICE), statics);
  }

  /**
   * The rest of the start's services, START_SLICE per turn of the event loop (their checks begin
   * staggered, so their first results and the steps they cause come in slices too, with BGP keepalives
   * between); then the VIPs that never leave lo onto it, and the store's drains (once every service is
   * there). A service that cannot be made is logged, the others go on.
   */
  async #addServices(rest: Config['services'], statics: string[]): Promise<void> {
    for (let i = 0; i < rest.length; i += START_SLICE) {
      await nextTurn();
      if (this.#stopping) return;
      for (const svc of rest.slice(i, i + START_SLICE)) {
        try {
          statics.push(...this.#addService(svc));
        } catch (error) {
          this.log('error', 'service-start-failed', { reason: 'start', service: svc.name, error });
        }
      }
    }
    this.#starting = false;
    this.#placing = this.#placeStaticVips(statics);
    // an operator's drain written to the store (etcd backend) for one of our local instances
    this.#parts.cluster?.onDrain?.((service, instance, drained) => {
      const s = this.#services.get(service);
      if (s && s.config.localInstanceId === instance) s.setDrainFlag(drained);
    });
    this.#maybeReleaseEndOfRib();
  }

  drain(service: string): void {
    this.#service(service).setDrainFlag(true);
  }

  undrain(service: string): void {
    this.#service(service).setDrainFlag(false);
  }

  /** Reloads the config file (default: the running one); serialized with other reloads. */
  reload(file?: string): Promise<ReloadResult> {
    const next = this.#reloading.then(() => this.#reload(file));
    this.#reloading = next.catch(() => {});
    return next;
  }

  /**
   * Withdraws everything and waits (bounded) until the peers were told; the data plane is left as is.
   * `keepRoutes` (a restart under graceful restart, RFC 4724): the checks stop, nothing is withdrawn.
   */
  async stop(
    timeoutMs = DEFAULT_STOP_TIMEOUT_MS,
    how: { keepRoutes?: boolean } = {},
  ): Promise<{ flushed: boolean; ms: number }> {
    const started = this.#clock.now();
    this.#stopping = true;
    const keepRoutes = how.keepRoutes ?? false;
    this.log('info', 'agent-stopping', { reason: 'shutdown', timeoutMs, keepRoutes });
    await Promise.all([...this.#services.values()].map((s) => s.shutdown('shutdown', keepRoutes)));
    const left = Math.max(0, timeoutMs - (this.#clock.now() - started));
    const flushed = await this.#parts.announcer.flushed(left);
    const ms = Math.round(this.#clock.now() - started);
    this.log(flushed ? 'info' : 'warn', 'agent-stopped', {
      reason: 'shutdown',
      flushed,
      ms,
      dataplane: 'left-attached',
    });
    return { flushed, ms };
  }

  status(): AgentStatus {
    const services = [...this.#services.values()].map((s) => s.status());
    const byReason: Record<string, number> = {};
    for (const s of services)
      for (const [reason, n] of Object.entries(s.transitions)) byReason[reason] = (byReason[reason] ?? 0) + n;
    return {
      node: this.config.node.id,
      started: this.#started,
      endOfRibReleased: this.#eorReleased,
      stopping: this.#stopping,
      hostAddresses: this.#hostAddresses(),
      services,
      transitionsByReason: byReason,
    };
  }

  /** Resolves when every service has finished its pending steps (tests). */
  async idle(): Promise<void> {
    await this.#reloading;
    await this.#placing;
    await this.#servicesIdle();
  }

  async #servicesIdle(): Promise<void> {
    await Promise.all([...this.#services.values()].map((s) => s.idle()));
  }

  /** The start's VIPs that never leave lo, onto it: one line with the counts, one at debug naming them. */
  async #placeStaticVips(vips: readonly string[]): Promise<void> {
    if (vips.length === 0) return;
    const started = this.#clock.now();
    try {
      const added = await this.#parts.host.addAll(vips);
      const ms = Math.round(this.#clock.now() - started);
      this.log('info', 'vips-placed', { reason: 'configured', vips: vips.length, added: added.length, ms });
      if (added.length > 0) this.log('debug', 'vips-placed-detail', { reason: 'configured', added });
    } catch (error) {
      // a service that comes up puts its own VIPs on lo again (and retries while that fails)
      this.log('error', 'vips-place-failed', { reason: 'configured', vips: vips.length, error });
    }
  }

  #hostAddresses(): string[] {
    const { ipv4, ipv6 } = this.config.node.host;
    return [ipv4, ipv6].filter((a): a is string => a !== null);
  }

  #service(name: string): ServiceAgent {
    const s = this.#services.get(name);
    if (!s) throw new AnycastdError('ERR_INVALID_ARGUMENT', `no service named ${name}`);
    return s;
  }

  /** A service's agent, its checks started; returns its VIPs that never leave lo (for the caller to place). */
  #addService(svc: Config['services'][number]): readonly string[] {
    const sa = new ServiceAgent(svc, {
      announcer: this.#parts.announcer,
      host: this.#parts.host,
      steering: this.#parts.steering,
      health: this.#parts.health,
      ...(this.#parts.connections ? { connections: this.#parts.connections } : {}),
      ...(this.#parts.cluster ? { cluster: this.#parts.cluster } : {}),
      log: (level, event, fields) => this.log(level, event, fields),
      flushTimeoutMs: this.#parts.flushTimeoutMs ?? DEFAULT_FLUSH_TIMEOUT_MS,
      onSettled: () => this.#maybeReleaseEndOfRib(),
      clock: this.#clock,
    });
    this.#services.set(svc.name, sa);
    const statics = sa.staticVips();
    sa.start();
    return statics;
  }

  /** Once every service has settled and taken its first steps: End-of-RIB goes out. */
  #maybeReleaseEndOfRib(): void {
    if (this.#eorReleased || this.#stopping || this.#starting) return;
    const all = [...this.#services.values()];
    if (!all.every((s) => s.settled)) return;
    this.#eorReleased = true;
    // (the start's VIPs that never leave lo may still be going on: each service's own steps put its VIPs
    // there before it advertises them)
    void this.#servicesIdle().then(() => {
      if (this.#stopping) return;
      this.#parts.announcer.releaseEndOfRib();
      this.log('info', 'end-of-rib-released', {
        reason: 'checks-settled',
        advertised: all.filter((s) => s.route !== 'withdrawn').map((s) => s.name),
      });
    });
  }

  async #reload(file?: string): Promise<ReloadResult> {
    const backend = this.config.cluster.backend;
    let result: ReloadResult;
    try {
      result = await this.store.reload(file);
    } catch (err) {
      // not a ConfigError: still never a silent refusal
      this.log('error', 'config-reload-failed', {
        reason: 'reload-failed',
        file: file ?? this.config.file,
        error: err,
      });
      throw err;
    }
    if (!result.ok) {
      this.log('error', 'config-rejected', {
        reason: 'invalid-config',
        file: file ?? this.config.file,
        code: result.error.code,
        error: result.error.message,
      });
      return result;
    }
    const { diff, config } = result;
    this.log('info', 'config-reloaded', {
      reason: diff.empty ? 'no-change' : 'config-changed',
      file: config.file,
      services: {
        added: diff.services.added.map((s) => s.name),
        removed: diff.services.removed.map((s) => s.name),
        changed: diff.services.changed.map((s) => s.name),
      },
      peers: {
        added: diff.peers.added.map((p) => p.name),
        removed: diff.peers.removed.map((p) => p.name),
        changed: diff.peers.changed.map((p) => p.name),
      },
    });
    if (diff.node.length > 0 || diff.dataplane.length > 0)
      this.log('warn', 'restart-required', {
        reason: 'config-changed',
        fields: [...diff.node.map((f) => `node.${f}`), ...diff.dataplane.map((f) => `dataplane.${f}`)],
      });
    if (config.cluster.backend !== backend)
      this.log('warn', 'restart-required', { reason: 'config-changed', fields: ['cluster.backend'] });
    await this.#parts.cluster?.apply(config);
    const peers = diff.peers;
    if (peers.added.length + peers.removed.length + peers.changed.length > 0) {
      if (hasApplyPeers(this.#parts.announcer)) await this.#parts.announcer.applyPeers(config.peers);
      else this.log('warn', 'peers-not-applied', { reason: 'speaker-has-no-apply-peers' });
    }
    for (const svc of diff.services.removed) {
      await this.#services.get(svc.name)?.retire();
      this.#services.delete(svc.name);
    }
    const changed = diff.services.changed.map((change) => ({
      change,
      after: config.services.find((s) => s.name === change.name)!,
      agent: this.#services.get(change.name)!,
    }));
    for (const c of changed) await c.agent.dropVips(c.after);
    this.#parts.steering.setServices(config.services);
    for (const c of changed) c.agent.update(c.after, c.change);
    const statics = diff.services.added.flatMap((svc) =>
      this.#stopping ? [] : this.#addService(config.services.find((s) => s.name === svc.name)!),
    );
    await this.#placeStaticVips(statics);
    return result;
  }
}
