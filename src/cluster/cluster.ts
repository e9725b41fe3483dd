// The agents' exchange of instance reports (issue 8): this host publishes what it says of its local
// instances (ReportBoard, served by StateServer on the cluster port) and follows every other host of
// its services (one ReportPoller per remote host address). A reply entry counts only when the config
// names that instance of that service on the host it came from; everything else is ignored and logged
// once. Reloads re-aim the pollers (a fourth host added to the instances is followed from then on) and
// restart the endpoint when its settings changed. The server failing to listen is logged and retried,
// never fatal: without it the other hosts fall back to their own checks.

import { EventEmitter } from 'node:events';
import type { Config } from '../config/types.js';
import { ReportBoard } from './board.js';
import { ReportPoller } from './poller.js';
import { type InstanceReport, type ReportEntry, sameReport } from './report.js';
import { StateServer } from './server.js';

const LISTEN_RETRY_MS = 5_000;

export type ClusterLog = (
  level: 'info' | 'warn' | 'error',
  event: string,
  fields: Record<string, unknown>,
) => void;

/** The cluster as the agent uses it. */
export interface ClusterPort {
  /** What this host says of its instance `instance` of `service` (null: nothing, e.g. before it settled). */
  publish(service: string, instance: string, report: InstanceReport | null): void;
  /** What the agent of remote instance `instance` of `service` says of it, if known. */
  reported(service: string, instance: string): InstanceReport | undefined;
  /** Calls `listener` whenever a remote report changes; returns the unsubscribe. */
  subscribe(listener: (service: string, instance: string) => void): () => void;
  /** A reloaded config (which hosts to follow, the endpoint's settings). */
  apply(next: Config): Promise<void>;
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
}

const key = (service: string, instance: string): string => `${service}/${instance}`;

export class Cluster extends EventEmitter<{ report: [string, string] }> implements ClusterPort {
  #config: Config;
  readonly #o: ClusterOptions;
  readonly #board: ReportBoard;
  #server: StateServer | null = null;
  #listenTimer: NodeJS.Timeout | null = null;
  readonly #pollers = new Map<string, ReportPoller>(); // remote host address → poller
  readonly #reports = new Map<string, { from: string; report: InstanceReport }>();
  readonly #ignored = new Set<string>();
  #closed = false;

  constructor(config: Config, opts: ClusterOptions) {
    super();
    this.#config = config;
    this.#o = opts;
    this.#board = new ReportBoard(config.node.id);
  }

  /** Starts the endpoint and the pollers (resolves once the endpoint listens or its failure is logged). */
  async start(): Promise<void> {
    if (!this.#config.cluster.enabled) return;
    this.#aimPollers();
    await this.#listen();
  }

  /** A reloaded config: follow its hosts, restart the endpoint if its settings changed. */
  async apply(next: Config): Promise<void> {
    const before = this.#config.cluster;
    this.#config = next;
    if (before.enabled !== next.cluster.enabled || before.port !== next.cluster.port) {
      await this.#stopServer();
      for (const p of this.#pollers.values()) p.close();
      this.#pollers.clear();
      this.#forgetFrom(null);
      if (next.cluster.enabled) await this.#listen();
    }
    if (next.cluster.enabled) this.#aimPollers();
    for (const [k, r] of [...this.#reports]) {
      const [service, instance] = k.split('/') as [string, string];
      if (!this.#accepts(r.from, service, instance)) this.#set(service, instance, null, r.from);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#pollers.values()) p.close();
    this.#pollers.clear();
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

  /** The board's current reply (tests, the API). */
  published(): readonly ReportEntry[] {
    return this.#board.reply().instances;
  }

  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** Remote host addresses of every service's instances (IPv4 where the instance has one). */
  #remoteHosts(): Set<string> {
    const own = new Set([this.#config.node.host.ipv4, this.#config.node.host.ipv6]);
    const hosts = new Set<string>();
    for (const s of this.#config.services)
      for (const i of s.instances) {
        const address = i.host.ipv4 ?? i.host.ipv6;
        if (i.id !== s.localInstanceId && address && !own.has(address)) hosts.add(address);
      }
    return hosts;
  }

  #aimPollers(): void {
    const wanted = this.#remoteHosts();
    for (const [address, p] of this.#pollers)
      if (!wanted.has(address)) {
        p.close();
        this.#pollers.delete(address);
        this.#forgetFrom(address);
      }
    for (const address of wanted) {
      if (this.#pollers.has(address)) continue;
      const poller = new ReportPoller({
        address,
        port: this.#config.cluster.port,
        onReports: (entries) => this.#onReports(address, entries),
        onReachable: (reachable, detail) =>
          this.#o.log(
            reachable ? 'info' : 'warn',
            reachable ? 'cluster-peer-reachable' : 'cluster-peer-unreachable',
            {
              reason: reachable ? 'reply' : 'request-failed',
              address,
              detail,
            },
          ),
        ...(this.#o.waitMs === undefined ? {} : { waitMs: this.#o.waitMs }),
        ...(this.#o.forgetAfterMs === undefined ? {} : { forgetAfterMs: this.#o.forgetAfterMs }),
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
        const k = `${from} ${key(e.service, e.instance)}`;
        if (!this.#ignored.has(k)) {
          this.#ignored.add(k);
          this.#o.log('warn', 'cluster-report-ignored', {
            reason: 'not-configured-there',
            address: from,
            service: e.service,
            instance: e.instance,
          });
        }
        continue;
      }
      seen.add(key(e.service, e.instance));
      this.#set(e.service, e.instance, { state: e.state, new: e.new, established: e.established }, from);
    }
    for (const [k, r] of [...this.#reports])
      if (r.from === from && !seen.has(k)) {
        const [service, instance] = k.split('/') as [string, string];
        this.#set(service, instance, null, from);
      }
  }

  /** Forgets the reports from `from` (null: from everyone). */
  #forgetFrom(from: string | null): void {
    for (const [k, r] of [...this.#reports])
      if (from === null || r.from === from) {
        const [service, instance] = k.split('/') as [string, string];
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
    if (this.#closed || this.#server || this.#o.serve === false) return;
    try {
      this.#server = await StateServer.start({
        board: this.#board,
        port: this.#config.cluster.port,
        allowed: (address) => this.#isConfiguredHost(address),
      });
      this.#o.log('info', 'cluster-listening', { reason: 'start', port: this.#server.port });
    } catch (err) {
      this.#o.log('error', 'cluster-listen-failed', {
        reason: 'listen-error',
        port: this.#config.cluster.port,
        error: err,
        retryMs: LISTEN_RETRY_MS,
      });
      this.#listenTimer = setTimeout(() => {
        this.#listenTimer = null;
        void this.#listen();
      }, LISTEN_RETRY_MS);
      this.#listenTimer.unref();
    }
  }

  async #stopServer(): Promise<void> {
    if (this.#listenTimer) clearTimeout(this.#listenTimer);
    this.#listenTimer = null;
    const server = this.#server;
    this.#server = null;
    await server?.close();
  }

  #isConfiguredHost(address: string): boolean {
    const { ipv4, ipv6 } = this.#config.node.host;
    if (address === ipv4 || address === ipv6) return true;
    return this.#config.services.some((s) =>
      s.instances.some((i) => i.host.ipv4 === address || i.host.ipv6 === address),
    );
  }
}
