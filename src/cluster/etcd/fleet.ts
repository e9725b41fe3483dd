// A simulated fleet for the scale bench: N agents' real registration and watch code (EtcdNode: a lease,
// its instance key, one watch, the membership and digests) in one process, sharing one etcd client per
// `agentsPerClient` agents (each client is one gRPC channel; its watches share one stream, as the etcd
// client multiplexes them, but each agent still has a watch and a lease of its own on the server).
//
//   const fleet = await Fleet.start({ endpoints, tls, prefix: '/bench/f1', size: 1000 });
//   const ms = await fleet.measure(fleet.agents[7]!, () => fleet.agents[7]!.set({ state: 'drained' }));
//   // ms[i]: time from the change to agent i's membership holding it (per agent, unsorted)
//   fleet.counters();   // writes, watch restarts, skipped values, summed over the agents
//   await fleet.close();
//
// Agent i is node `a<i>` with instance `a<i>` of `service` (default "web") on 203.0.113.x / 2001:db8::x
// addresses (documentation ranges; never contacted: they are only written into records). A fleet spread
// over processes gives each its share: `first` (the first agent's number) and `size` (how many), with
// `watch: false` so every share registers before any watch starts (`watchAll`); `arm` records when each
// agent's membership reaches a revision written by another process.

import type { Etcd3 } from 'etcd3';
import { type Clock, systemClock } from '../../clock.js';
import { type ClientSettings, makeClient } from './client.js';
import { EtcdNode, type EtcdNodeCounters } from './node.js';
import type { InstanceRecord } from './record.js';

const DEFAULT_AGENTS_PER_CLIENT = 50;
const DEFAULT_LEASE_TTL_MS = 10_000;
const DEFAULT_RING_SIZE = 65_537;
const DEFAULT_DRAIN_TIME_MS = 30_000;
const DEFAULT_MEASURE_TIMEOUT_MS = 30_000;
const OCTET = 256;
/** Agents registering (or reading the set) at once while a fleet starts. */
const START_CONCURRENCY = 25;

/** Runs `fn` over `items`, at most `n` at once. */
async function eachBounded<T>(items: readonly T[], n: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export interface FleetOptions extends ClientSettings {
  prefix: string;
  /** Agents in this process. */
  size: number;
  /** The number of this process's first agent (default 0: agents a<first> … a<first+size−1>). */
  first?: number;
  /** Start the watches once registered (default true; false: `watchAll` starts them). */
  watch?: boolean;
  service?: string;
  agentsPerClient?: number;
  leaseTtlMs?: number;
  ringSize?: number;
  drainTimeMs?: number;
  /** Each agent writes its digests too (default false: the bench measures registration traffic). */
  publishDigests?: boolean;
  clock?: Clock;
}

export class FleetAgent {
  readonly node: EtcdNode;
  readonly service: string;
  readonly instance: string;
  record: InstanceRecord;

  constructor(node: EtcdNode, service: string, instance: string, record: InstanceRecord) {
    this.node = node;
    this.service = service;
    this.instance = instance;
    this.record = record;
  }

  /** Changes what this agent registers (written only if it differs). */
  set(change: Partial<InstanceRecord>): void {
    this.record = { ...this.record, ...change };
    this.node.register(this.service, this.instance, this.record);
  }

  /** Takes the registration out (an agent leaving on purpose). */
  deregister(): void {
    this.node.register(this.service, this.instance, null);
  }
}

export class Fleet {
  readonly agents: FleetAgent[];
  readonly #clients: Etcd3[];
  readonly #clock: Clock;

  private constructor(agents: FleetAgent[], clients: Etcd3[], clock: Clock) {
    this.agents = agents;
    this.#clients = clients;
    this.#clock = clock;
  }

  /** Registers every agent up in both rings, then starts every watch; resolves once each has read the set
   * (a watch goes live when etcd answers its creation, shortly after). */
  static async start(o: FleetOptions): Promise<Fleet> {
    const per = o.agentsPerClient ?? DEFAULT_AGENTS_PER_CLIENT;
    const clock = o.clock ?? systemClock;
    const service = o.service ?? 'web';
    const clients: Etcd3[] = [];
    const agents: FleetAgent[] = [];
    const first = o.first ?? 0;
    for (let i = first; i < first + o.size; i++) {
      if ((i - first) % per === 0) clients.push(makeClient(o));
      const id = `a${i}`;
      const node = new EtcdNode({
        client: clients[clients.length - 1]!,
        prefix: o.prefix,
        node: id,
        leaseTtlMs: o.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
        ringSize: o.ringSize ?? DEFAULT_RING_SIZE,
        drainTimeMs: () => o.drainTimeMs ?? DEFAULT_DRAIN_TIME_MS,
        publishDigests: o.publishDigests ?? false,
        clock,
      });
      const host = {
        ipv4: `203.0.113.${i % OCTET}`,
        ipv6: `2001:db8::${(i + 1).toString(16)}`,
      };
      agents.push(
        new FleetAgent(node, service, id, {
          node: id,
          host,
          weight: 1,
          state: 'up',
          new: true,
          established: true,
        }),
      );
    }
    // Registrations first, then the watches: watches started first would each receive every other
    // agent's registration as an event — N² responses into this one process before any is live — where
    // a watch started after reads the set once (N reads of N keys). A real fleet's agents start at their
    // own pace on their own CPUs; this process starts START_CONCURRENCY at a time.
    await eachBounded(agents, START_CONCURRENCY, async (a) => {
      a.set({});
      await a.node.keys.settled();
    });
    const fleet = new Fleet(agents, clients, clock);
    if (o.watch ?? true) await fleet.watchAll();
    return fleet;
  }

  /** Starts every agent's watch; resolves once each has read the set. */
  async watchAll(): Promise<void> {
    await eachBounded(this.agents, START_CONCURRENCY, (a) => a.node.start());
  }

  /**
   * Records, per agent, when its membership changes (clock ms); `until(rev)` resolves with the time each
   * agent first held revision `rev` or later, `off()` stops recording.
   */
  arm(): { until(rev: number, timeoutMs?: number): Promise<number[]>; off(): void } {
    const seen: { rev: number; at: number }[][] = this.agents.map(() => []);
    const offs = this.agents.map((a, i) => {
      const fn = (_s: string, rev: number): void => {
        seen[i]!.push({ rev, at: this.#clock.now() });
      };
      a.node.on('changed', fn);
      return () => a.node.off('changed', fn);
    });
    const off = (): void => {
      for (const f of offs) f();
    };
    const until = async (rev: number, timeoutMs = DEFAULT_MEASURE_TIMEOUT_MS): Promise<number[]> => {
      const deadline = this.#clock.now() + timeoutMs;
      for (;;) {
        const times = seen.map((s) => s.find((e) => e.rev >= rev)?.at);
        if (times.every((t) => t !== undefined)) return times as number[];
        if (this.#clock.now() > deadline)
          throw new Error(
            `fleet: ${times.filter((t) => t === undefined).length} agents did not reach revision ${rev}`,
          );
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    return { until, off };
  }

  /**
   * Runs `change` (a write by `writer`'s registration) and resolves with, per agent, the ms from the
   * change to that agent's membership reaching the write's revision.
   */
  async measure(
    writer: FleetAgent,
    change: () => void,
    timeoutMs = DEFAULT_MEASURE_TIMEOUT_MS,
  ): Promise<number[]> {
    const rec = this.arm();
    try {
      const t0 = this.#clock.now();
      const rev = await Fleet.write(writer, change);
      if (rev === null) return this.agents.map(() => 0); // nothing was written
      return (await rec.until(rev, timeoutMs)).map((t) => t - t0);
    } finally {
      rec.off();
    }
  }

  /** Runs `change` (a write by `writer`'s registration): the write's revision, null if nothing was written. */
  static async write(writer: FleetAgent, change: () => void): Promise<number | null> {
    const key = writer.node.layout.instance(writer.service, writer.instance);
    const before = writer.node.keys.revisionOf(key);
    change();
    await writer.node.keys.settled();
    const rev = writer.node.keys.revisionOf(key);
    return rev === before ? null : rev;
  }

  /** Every agent's counters, summed. */
  counters(): EtcdNodeCounters {
    const sum: EtcdNodeCounters = {
      writes: 0,
      watchRestarts: 0,
      watchStalls: 0,
      skipped: { 'too-big': 0, 'not-json': 0, invalid: 0, 'bad-key': 0, 'too-many': 0 },
      leasesGranted: 0,
      leasesLost: 0,
    };
    for (const a of this.agents) {
      const c = a.node.counters();
      sum.writes += c.writes;
      sum.watchRestarts += c.watchRestarts;
      sum.watchStalls += c.watchStalls;
      sum.leasesGranted += c.leasesGranted;
      sum.leasesLost += c.leasesLost;
      for (const k of Object.keys(c.skipped) as (keyof typeof c.skipped)[]) sum.skipped[k] += c.skipped[k];
    }
    return sum;
  }

  /** Stops every agent (`revoke`: their leases too, so their keys leave at once) and the clients. */
  async close(revoke = true): Promise<void> {
    await Promise.all(this.agents.map((a) => a.node.close(revoke)));
    for (const c of this.#clients) c.close();
  }
}
