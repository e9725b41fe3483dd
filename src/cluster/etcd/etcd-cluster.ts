// The etcd backend as the agent uses it (ClusterPort, like the mesh's Cluster): what this host says of its
// local instances becomes its registration (an InstanceReport → an instance record with the config's
// host addresses and weight; state down is registered as failed), the other hosts' registrations are the
// rings' source (`members`), an operator's drain key of a local instance is handed to the agent
// (`onDrain`), and the ring digests, revision and counters are what `show` and the metrics read.
//
// The store being away never takes anything out: the last membership stays, this host's own health alone
// decides its advertisement (the agent's steps do not wait on etcd), and when the store returns this host
// registers again (a new lease if the old one expired) and the watch resumes. Problems are logged at most
// once per kind per minute (LimitedLog), connectivity changes always. The etcd settings (endpoints,
// prefix, TLS, TTL) are taken at start: a reload that changes them is logged as needing a restart.

import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { type Clock, systemClock } from '../../clock.js';
import type { Config, ServiceConfig } from '../../config/types.js';
import { LimitedLog } from '../../log/limited-log.js';
import type { ClusterPort } from '../cluster.js';
import { LOG_INTERVAL_MS, MAX_LOG_KEYS } from '../limits.js';
import type { ClusterLog } from '../log.js';
import type { InstanceReport } from '../report.js';
import { compareDigests, readDigests, type ServiceAgreement } from './agreement.js';
import { makeClient, settingsOf } from './client.js';
import {
  type CachedMembers,
  encodeMembersCache,
  MembersCacheFile,
  membersCachePath,
} from './members-cache.js';
import type { Member } from './membership.js';
import { EtcdNode, type EtcdNodeCounters } from './node.js';
import type { RegisteredState } from './record.js';

export interface EtcdClusterOptions {
  log: ClusterLog;
  clock?: Clock;
  /** A client to use instead of one made from the config (tests share one). */
  client?: Etcd3;
  /** systemd's $STATE_DIRECTORY: where the members cache goes when the config names no file. */
  stateDirectory?: string | null;
}

/** What the metrics read. */
export interface EtcdClusterSnapshot extends EtcdNodeCounters {
  connected: boolean;
  revision: number;
  leaseId: string | null;
  digests: { service: string; digest: string }[];
}

/** A registered instance as `show instances` lists it, with its lease's remaining time when asked. */
export interface RegisteredInfo extends Member {
  service: string;
  /** Seconds left on its lease (-1: unknown, e.g. etcd away). */
  leaseTtlSeconds: number;
}

const toState = (s: InstanceReport['state']): RegisteredState => (s === 'down' ? 'failed' : s);
const fromState = (s: RegisteredState): InstanceReport['state'] => (s === 'failed' ? 'down' : s);
const settingsKey = (c: Config): string => {
  const e = c.cluster.etcd;
  return JSON.stringify([
    e?.endpoints,
    e?.prefix,
    e?.leaseTtlMs,
    e?.membersCache,
    e?.tls?.material?.fingerprint ?? null,
  ]);
};

export class EtcdCluster extends EventEmitter<{ drain: [string, string, boolean] }> implements ClusterPort {
  readonly node: EtcdNode;
  #config: Config;
  readonly #client: Etcd3;
  readonly #ownClient: boolean;
  readonly #log: ClusterLog;
  readonly #problems: LimitedLog;
  readonly #listeners = new Set<(service: string, instance: string) => void>();
  /** Local drains as last handed to the agent: `<service>/<instance>`. */
  readonly #drains = new Set<string>();
  #membersKnown = false;
  readonly #cacheFile: MembersCacheFile | null = null;
  /** The cached members, used until the store is first read. */
  #cached: CachedMembers | null = null;

  constructor(config: Config, o: EtcdClusterOptions) {
    super();
    const etcd = config.cluster.etcd;
    if (!etcd) throw new Error('EtcdCluster needs cluster.etcd');
    this.#config = config;
    this.#log = o.log;
    this.#ownClient = !o.client;
    this.#client = o.client ?? makeClient(settingsOf(etcd));
    const clock = o.clock ?? systemClock;
    this.#problems = new LimitedLog(
      (fields) => o.log('warn', 'cluster-etcd-problem', fields),
      LOG_INTERVAL_MS,
      MAX_LOG_KEYS,
      clock,
    );
    this.node = new EtcdNode({
      client: this.#client,
      prefix: etcd.prefix,
      node: config.node.id,
      leaseTtlMs: etcd.leaseTtlMs,
      ringSize: config.dataplane.ringSize,
      drainTimeMs: (service) => this.#service(service)?.drainTimeMs ?? 0,
      clock,
    });
    const cachePath = membersCachePath(etcd.membersCache, o.stateDirectory ?? null);
    if (cachePath) {
      this.#cacheFile = new MembersCacheFile({
        path: cachePath,
        prefix: etcd.prefix,
        clock,
        onProblem: (what, detail) => this.#problems.note(what, { reason: what, detail }),
      });
      this.#cached = this.#cacheFile.load();
      if (this.#cached)
        o.log('info', 'cluster-members-cached', {
          reason: 'start',
          revision: this.#cached.revision,
          ageMs: Math.round(clock.wallNow() - this.#cached.savedAtMs),
          services: this.#cached.services.size,
        });
    }
    const saveCache = (): void =>
      this.#cacheFile?.schedule(() =>
        encodeMembersCache(
          etcd.prefix,
          this.node.revision,
          clock.wallNow(),
          this.#config.services.map((s) => [s.name, this.node.membership.members(s.name)] as const),
        ),
      );
    // the first full read: the members are the store's from now on (even when there are none)
    this.node.watch.once('change', () => {
      this.#membersKnown = true;
      this.#cached = null;
      saveCache();
      for (const s of this.#config.services) {
        this.#checkDrains(s.name);
        for (const l of this.#listeners) l(s.name, '');
      }
    });
    this.node.on('changed', (service) => {
      saveCache();
      this.#checkDrains(service);
      for (const l of this.#listeners) l(service, '');
    });
    this.node.on('connected', (connected) =>
      o.log(connected ? 'info' : 'warn', connected ? 'cluster-etcd-connected' : 'cluster-etcd-disconnected', {
        reason: connected ? 'watch-connected' : 'watch-disconnected',
        endpoints: etcd.endpoints,
        revision: this.node.revision,
      }),
    );
    this.node.on('lease', (l) =>
      o.log(l.granted ? 'info' : 'warn', l.granted ? 'cluster-lease-granted' : 'cluster-lease-lost', {
        reason: l.granted ? 'registered' : 'lease-lost',
        lease: l.id,
        ...(l.detail ? { detail: l.detail } : {}),
      }),
    );
    this.node.on('problem', ({ what, detail }) => this.#problems.note(what, { reason: what, detail }));
  }

  /** Starts the watch (resolves after its first read, or after its failure is logged: it retries). */
  async start(): Promise<void> {
    this.#log('info', 'cluster-etcd-starting', {
      reason: 'start',
      endpoints: this.#config.cluster.etcd!.endpoints,
      prefix: this.#config.cluster.etcd!.prefix,
    });
    await this.node.start();
  }

  #closed = false;

  /**
   * Stops watching and keepalives. `revoke` (a stop that withdraws every VIP: the host leaves): the lease
   * is revoked, so the other hosts take this host's instances out of `new` at once (their flows keep
   * their owner for drain_time) instead of sending it new flows until the lease expires. Otherwise (a
   * restart under graceful restart) the lease is left to expire: a restart within its TTL changes nothing.
   */
  async close(revoke = false): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#problems.close();
    await this.#cacheFile?.flush();
    await this.node.close(revoke);
    if (this.#ownClient) this.#client.close();
  }

  publish(service: string, instance: string, report: InstanceReport | null): void {
    const inst = this.#service(service)?.instances.find((i) => i.id === instance);
    if (!inst || !report) {
      this.node.register(service, instance, null);
      return;
    }
    this.node.register(service, instance, {
      node: this.#config.node.id,
      host: inst.host,
      weight: inst.weight,
      state: toState(report.state),
      new: report.new,
      established: report.established,
    });
  }

  reported(service: string, instance: string): InstanceReport | undefined {
    const m = this.node.membership.members(service).find((x) => x.id === instance);
    return m ? { state: fromState(m.state), new: m.new, established: m.established } : undefined;
  }

  subscribe(listener: (service: string, instance: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The registered instances of `service` but ours — until the store is first read, the cached ones. */
  members(service: string): readonly Member[] {
    const local = this.#service(service)?.localInstanceId;
    const all = this.#cached
      ? (this.#cached.services.get(service) ?? [])
      : this.node.membership.members(service);
    return all.filter((m) => m.id !== local);
  }

  membersKnown(): boolean {
    return this.#membersKnown;
  }

  onDrain(listener: (service: string, instance: string, drained: boolean) => void): () => void {
    this.on('drain', listener);
    for (const s of this.#config.services) this.#checkDrains(s.name);
    return () => this.off('drain', listener);
  }

  async apply(next: Config): Promise<void> {
    if (settingsKey(next) !== settingsKey(this.#config))
      this.#log('warn', 'restart-required', {
        reason: 'config-changed',
        fields: ['cluster.etcd'],
        detail: 'the etcd settings are taken at start',
      });
    if (next.cluster.backend !== 'etcd') return;
    this.#config = { ...next, cluster: { ...next.cluster, etcd: this.#config.cluster.etcd } };
    for (const s of next.services) this.#checkDrains(s.name);
  }

  /** An operator's drain of any instance of the fabric, written to the store. */
  async setDrain(service: string, instance: string, drained: boolean): Promise<void> {
    await this.node.setDrain(service, instance, drained);
  }

  /** Every registered instance of `service` (this host's too), with each lease's remaining seconds. */
  async registered(service: string): Promise<RegisteredInfo[]> {
    const members = this.node.membership.members(service);
    const ttl = new Map<string, number>();
    await Promise.all(
      [...new Set(members.map((m) => m.lease))].map(async (id) => {
        const left = await this.#client.leaseClient
          .leaseTimeToLive({ ID: id })
          .then((r) => Number(r.TTL))
          .catch(() => -1);
        ttl.set(id, left);
      }),
    );
    return members.map((m) => ({
      ...m,
      service,
      leaseTtlSeconds: m.departing ? 0 : (ttl.get(m.lease) ?? -1),
    }));
  }

  /** Whether every host's rings agree, per service (their digests as written to the store). */
  async agreement(): Promise<ServiceAgreement[]> {
    return compareDigests((await readDigests(this.#client, this.node.layout)).hosts);
  }

  snapshot(): EtcdClusterSnapshot {
    return {
      ...this.node.counters(),
      connected: this.node.connected,
      revision: this.node.revision,
      leaseId: this.node.keys.leaseId,
      digests: this.#config.services.map((s) => ({ service: s.name, digest: this.node.digest(s.name) })),
    };
  }

  #service(name: string): ServiceConfig | undefined {
    return this.#config.services.find((s) => s.name === name);
  }

  /** Hands the agent a drain key of its local instance of `service` that appeared or went. */
  #checkDrains(service: string): void {
    const local = this.#service(service)?.localInstanceId;
    if (!local) return;
    const key = `${service}/${local}`;
    const drained = this.node.drained(service, local);
    if (drained === this.#drains.has(key)) return;
    if (drained) this.#drains.add(key);
    else this.#drains.delete(key);
    this.#log('info', 'drain-requested', { reason: 'etcd-drain-key', service, instance: local, drained });
    this.emit('drain', service, local, drained);
  }
}
