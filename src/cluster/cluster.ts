// The agents' exchange of instance reports: this host publishes what it says of its local instances
// (ReportBoard, served by StateServer on the cluster port of its host addresses) and follows every other
// host of its services (one ReportPoller per remote host address). Both directions are authenticated with
// the keys of cluster.key_file (auth.ts); without keys the channel stays off — nothing listens and nothing
// is polled — and the agent says so once at start (the other hosts' states are then judged by this host's
// own checks alone).
//
// A reply entry counts only when the config names that instance of that service on the host it came from.
// An entry of a service this host does not have is skipped and counted (a peer may run more services); one
// naming an instance the config places elsewhere is counted and logged at most once per peer per interval.
// Reloads re-aim the pollers (a fourth host added to the instances is followed from then on), swap the
// keys in place, and restart the endpoint when its port or addresses changed. The endpoint failing to
// listen is logged and retried, never fatal: without it the other hosts fall back to their own checks.
// Every part waits and reads time through the one clock given in the options.

import { EventEmitter } from 'node:events';
import { isIPv6 } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { ClusterKeys } from '../config/cluster-keys.js';
import type { Config } from '../config/types.js';
import { LimitedLog } from '../log/limited-log.js';
import { ReportBoard } from './board.js';
import { ClusterCounters, type ClusterCountersSnapshot } from './counters.js';
import type { Member } from './etcd/membership.js';
import { LOG_INTERVAL_MS, MAX_LOG_KEYS, maxEntries, totalConnections } from './limits.js';
import type { ClusterLog } from './log.js';
import { ReportPoller } from './poller.js';
import { type InstanceReport, type ReportEntry, sameReport } from './report.js';
import { StateServer } from './server.js';
import { servicesAt, type Topology, topologyOf } from './topology.js';

export type { ClusterLog } from './log.js';

/** A listen that failed (the port taken) is tried again after this. */
const LISTEN_RETRY_MS = 5_000;

/** The cluster as the agent uses it. */
export interface ClusterPort {
  /** What this host says of its instance `instance` of `service` (null: nothing, e.g. before it settled). */
  publish(service: string, instance: string, report: InstanceReport | null): void;
  /** What the agent of remote instance `instance` of `service` says of it, if known. */
  reported(service: string, instance: string): InstanceReport | undefined;
  /** Calls `listener` whenever a remote report changes; returns the unsubscribe. */
  subscribe(listener: (service: string, instance: string) => void): () => void;
  /** A reloaded config (which hosts to follow, the endpoint's settings, the keys). */
  apply(next: Config): Promise<void>;
  /**
   * The etcd backend only: the registered instances of `service` other than this host's (the rings'
   * source, each judged by its own agent). Absent with the mesh: the config's list and this host's checks.
   */
  members?(service: string): readonly Member[];
  /**
   * The etcd backend only: calls `listener` when an operator's drain of instance `instance` of `service`
   * is written or removed anywhere (the agent honours those of its local instances); returns the unsubscribe.
   */
  onDrain?(listener: (service: string, instance: string, drained: boolean) => void): () => void;
  /**
   * The etcd backend only: whether the store has been read once, so `members` is the fabric's and not
   * an empty guess. Subscribers hear of every configured service (instance '') when it turns true.
   */
  membersKnown?(): boolean;
}

export interface ClusterPeerStatus {
  address: string;
  reachable: boolean;
  replies: number;
}

export interface ClusterOptions {
  log: ClusterLog;
  /** Serve this host's reports (default true; tests that run two clusters in one namespace say false). */
  serve?: boolean;
  /** Poller timing (tests). */
  waitMs?: number;
  forgetAfterMs?: number;
  /** The clock of every timer and time stamp of the channel (default: the system clock). */
  clock?: Clock;
}

const key = (service: string, instance: string): string => `${service}/${instance}`;
/** The service and instance of a key (a service name has no '/'; an instance id may). */
const unkey = (k: string): [string, string] => {
  const at = k.indexOf('/');
  return [k.slice(0, at), k.slice(at + 1)];
};

/** What decides whether the endpoint must be restarted. */
const endpointOf = (c: Config): string =>
  JSON.stringify([c.cluster.port, c.node.host.ipv4, c.node.host.ipv6, activeOf(c)]);

/** The channel runs when it is enabled and has keys. */
const activeOf = (c: Config): boolean => c.cluster.enabled && c.cluster.keys !== null;

export class Cluster extends EventEmitter<{ report: [string, string] }> implements ClusterPort {
  #config: Config;
  #topology: Topology;
  readonly #o: ClusterOptions;
  readonly #clock: Clock;
  readonly #board: ReportBoard;
  readonly #counters = new ClusterCounters();
  readonly #ignoredLog: LimitedLog;
  #server: StateServer | null = null;
  #listenTimer: TimerHandle = null;
  readonly #pollers = new Map<string, ReportPoller>(); // remote host address → poller
  readonly #reports = new Map<string, { from: string; report: InstanceReport }>();
  #closed = false;

  constructor(config: Config, opts: ClusterOptions) {
    super();
    this.#config = config;
    this.#topology = topologyOf(config);
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#board = new ReportBoard(config.node.id, this.#clock);
    this.#ignoredLog = new LimitedLog(
      (fields) => opts.log('warn', 'cluster-report-ignored', fields),
      LOG_INTERVAL_MS,
      MAX_LOG_KEYS,
      this.#clock,
    );
  }

  /** Starts the endpoint and the pollers (resolves once the endpoint listens or its failure is logged). */
  async start(): Promise<void> {
    this.#sayIfOff();
    if (!activeOf(this.#config)) return;
    this.#aimPollers();
    await this.#listen();
  }

  /** A reloaded config: follow its hosts, use its keys, restart the endpoint if its settings changed. */
  async apply(next: Config): Promise<void> {
    const before = this.#config;
    this.#config = next;
    this.#topology = topologyOf(next);
    if (endpointOf(before) !== endpointOf(next)) {
      // another port, other own addresses, or the channel turned on or off: start over
      await this.#stopServer();
      for (const p of this.#pollers.values()) p.close();
      this.#pollers.clear();
      this.#forgetFrom(null);
      if (activeOf(before) !== activeOf(next)) this.#sayIfOff();
      if (activeOf(next)) await this.#listen();
    }
    this.#server?.prune();
    if (activeOf(next)) this.#aimPollers();
    for (const [k, r] of [...this.#reports]) {
      const [service, instance] = unkey(k);
      if (!this.#accepts(r.from, service, instance)) this.#set(service, instance, null, r.from);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pollers.values()) p.close();
    this.#pollers.clear();
    this.#ignoredLog.close();
    await this.#stopServer();
  }

  publish(service: string, instance: string, report: InstanceReport | null): void {
    this.#board.publish(service, instance, report);
  }

  reported(service: string, instance: string): InstanceReport | undefined {
    return this.#reports.get(key(service, instance))?.report;
  }

  subscribe(listener: (service: string, instance: string) => void): () => void {
    this.on('report', listener);
    return () => this.off('report', listener);
  }

  peers(): ClusterPeerStatus[] {
    return [...this.#pollers.values()].map((p) => ({
      address: p.address,
      reachable: p.reachable,
      replies: p.replies,
    }));
  }

  /** What the channel counted since start (the metrics' source). */
  counters(): ClusterCountersSnapshot {
    return this.#counters.snapshot();
  }

  /** The board's current reply (tests, the API). */
  published(): readonly ReportEntry[] {
    return this.#board.reply().instances;
  }

  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** The pollers by remote address (tests). */
  poller(address: string): ReportPoller | undefined {
    return this.#pollers.get(address);
  }

  #keys(): ClusterKeys {
    const keys = this.#config.cluster.keys;
    if (!keys) throw new Error('cluster channel used without keys');
    return keys;
  }

  #sayIfOff(): void {
    const c = this.#config;
    if (c.cluster.enabled && c.cluster.keys === null && this.#topology.pollTargets.size > 0)
      this.#o.log('warn', 'cluster-off', {
        reason: 'no-key-file',
        detail: 'cluster.key_file is not set: no reports are exchanged with the other hosts',
      });
  }

  #aimPollers(): void {
    const wanted = this.#topology.pollTargets;
    for (const [address, p] of this.#pollers)
      if (!wanted.has(address)) {
        p.close();
        this.#pollers.delete(address);
        this.#forgetFrom(address);
      }
    for (const address of wanted) {
      if (this.#pollers.has(address)) continue;
      const { ipv4, ipv6 } = this.#config.node.host;
      const local = isIPv6(address) ? ipv6 : ipv4;
      const poller = new ReportPoller({
        address,
        port: this.#config.cluster.port,
        ...(local ? { localAddress: local } : {}),
        keys: () => this.#keys(),
        maxEntries: () => maxEntries(servicesAt(this.#topology, address).size),
        onReports: (entries) => this.#onReports(address, entries),
        onReachable: (reachable, detail) =>
          this.#o.log(
            reachable ? 'info' : 'warn',
            reachable ? 'cluster-peer-reachable' : 'cluster-peer-unreachable',
            { reason: reachable ? 'reply' : 'request-failed', address, detail },
          ),
        onRejected: (reason) => {
          this.#counters.repliesRejected[reason]++;
        },
        ...(this.#o.waitMs === undefined ? {} : { waitMs: this.#o.waitMs }),
        ...(this.#o.forgetAfterMs === undefined ? {} : { forgetAfterMs: this.#o.forgetAfterMs }),
        clock: this.#clock,
      });
      this.#pollers.set(address, poller);
      poller.start();
    }
  }

  /** Whether the config names instance `instance` of `service` as a remote one on host `from`. */
  #accepts(from: string, service: string, instance: string): boolean {
    const s = this.#config.services.find((x) => x.name === service);
    const i = s?.instances.find((x) => x.id === instance);
    return !!s && !!i && i.id !== s.localInstanceId && (i.host.ipv4 === from || i.host.ipv6 === from);
  }

  #onReports(from: string, entries: readonly ReportEntry[]): void {
    const seen = new Set<string>();
    for (const e of entries) {
      if (!this.#accepts(from, e.service, e.instance)) {
        const known = this.#config.services.some((s) => s.name === e.service);
        this.#counters.entriesIgnored[known ? 'not-configured-there' : 'unknown-service']++;
        if (known)
          this.#ignoredLog.note(from, {
            reason: 'not-configured-there',
            address: from,
            service: e.service,
            instance: e.instance,
          });
        continue;
      }
      seen.add(key(e.service, e.instance));
      this.#set(e.service, e.instance, { state: e.state, new: e.new, established: e.established }, from);
    }
    for (const [k, r] of [...this.#reports])
      if (r.from === from && !seen.has(k)) {
        const [service, instance] = unkey(k);
        this.#set(service, instance, null, from);
      }
  }

  /** Forgets the reports from `from` (null: from everyone). */
  #forgetFrom(from: string | null): void {
    for (const [k, r] of [...this.#reports])
      if (from === null || r.from === from) {
        const [service, instance] = unkey(k);
        this.#set(service, instance, null, r.from);
      }
  }

  #set(service: string, instance: string, report: InstanceReport | null, from: string): void {
    const k = key(service, instance);
    const prior = this.#reports.get(k)?.report;
    if (report === null) {
      if (!prior) return;
      this.#reports.delete(k);
    } else {
      if (sameReport(prior, report)) return;
      this.#reports.set(k, { from, report });
    }
    this.#o.log('info', 'instance-reported', {
      reason: report ? 'peer-report' : 'peer-report-gone',
      service,
      instance,
      address: from,
      ...(report ?? {}),
    });
    this.emit('report', service, instance);
  }

  async #listen(): Promise<void> {
    if (this.#closed || this.#server || this.#o.serve === false || !activeOf(this.#config)) return;
    const addresses = [...this.#topology.own];
    try {
      this.#server = await StateServer.start({
        board: this.#board,
        port: this.#config.cluster.port,
        addresses,
        allowed: (address) => this.#topology.servicesAt.has(address),
        servicesFor: (address) => servicesAt(this.#topology, address),
        keys: () => this.#keys(),
        maxConnections: () => totalConnections(this.#topology.hostCount),
        counters: this.#counters,
        log: this.#o.log,
        clock: this.#clock,
      });
      this.#o.log('info', 'cluster-listening', { reason: 'start', addresses, port: this.#server.port });
    } catch (err) {
      this.#o.log('error', 'cluster-listen-failed', {
        reason: 'listen-error',
        addresses,
        port: this.#config.cluster.port,
        error: err,
        retryMs: LISTEN_RETRY_MS,
      });
      this.#listenTimer = this.#clock.setTimeout(
        () => {
          this.#listenTimer = null;
          void this.#listen();
        },
        LISTEN_RETRY_MS,
        { unref: true },
      );
    }
  }

  async #stopServer(): Promise<void> {
    this.#clock.clearTimeout(this.#listenTimer);
    this.#listenTimer = null;
    const server = this.#server;
    this.#server = null;
    await server?.close();
  }
}
