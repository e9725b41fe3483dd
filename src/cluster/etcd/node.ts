// One agent's presence in the store, without the agent: its leased keys (leased-keys.ts: its instances
// and its digests), the one watch (watch.ts), the members and rings derived from it (membership.ts) and
// the digests of those rings, written under `<prefix>/digests/<node>` once the membership has been quiet
// for DIGEST_QUIET_MS (so hosts can be compared: agreement.ts). EtcdCluster wraps one for the agent;
// fleet.ts runs many in one process (the scale bench). Drains are admin keys without a lease: any host
// may write one, the owning agent honours it.

import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { type Clock, systemClock, type TimerHandle } from '../../clock.js';
import { ringDigest } from './digest.js';
import { KeyLayout } from './keys.js';
import { LeasedKeys } from './leased-keys.js';
import { DIGEST_QUIET_MS } from './limits.js';
import { Membership } from './membership.js';
import type { SkipReason } from './record.js';
import { encodeDrain, encodeRecord, type InstanceRecord } from './record.js';
import { MemberWatch } from './watch.js';

export interface EtcdNodeOptions {
  client: Etcd3;
  /** The fabric's key prefix. */
  prefix: string;
  /** This host's node id (its digest key's name, the writer of its drains). */
  node: string;
  leaseTtlMs: number;
  /** Maglev ring size (part of the digest). */
  ringSize: number;
  /** How long a departed instance stays in `established`, per service. */
  drainTimeMs: (service: string) => number;
  /** Write this node's digests (default true; a bench may leave them out). */
  publishDigests?: boolean;
  clock?: Clock;
}

export interface EtcdNodeCounters {
  /** Puts and deletes this node sent (leased keys and drains). */
  writes: number;
  watchRestarts: number;
  /** Watches the liveness check found stuck (each also a restart). */
  watchStalls: number;
  skipped: Record<SkipReason, number>;
  leasesGranted: number;
  leasesLost: number;
}

export interface EtcdNodeEvents {
  /** The members of `service` changed; the set is the store's at `revision`. */
  changed: [service: string, revision: number];
  connected: [boolean];
  lease: [{ granted: boolean; id: string | null; detail?: string }];
  problem: [{ what: 'watch' | 'write'; detail: string }];
}

export class EtcdNode extends EventEmitter<EtcdNodeEvents> {
  readonly layout: KeyLayout;
  readonly keys: LeasedKeys;
  readonly watch: MemberWatch;
  readonly membership: Membership;
  readonly #o: EtcdNodeOptions;
  readonly #clock: Clock;
  #digestTimer: TimerHandle = null;
  #drainWrites = 0;

  constructor(o: EtcdNodeOptions) {
    super();
    this.#o = o;
    this.#clock = o.clock ?? systemClock;
    this.layout = new KeyLayout(o.prefix);
    this.keys = new LeasedKeys(o.client, o.leaseTtlMs, this.#clock);
    this.watch = new MemberWatch(o.client, this.layout, this.#clock);
    this.membership = new Membership(this.watch, this.#clock, o.drainTimeMs);
    this.membership.on('changed', (service, revision) => {
      this.emit('changed', service, revision);
      this.#digestSoon();
    });
    this.watch.on('connected', (c) => this.emit('connected', c));
    this.watch.on('error', ({ detail }) => this.emit('problem', { what: 'watch', detail }));
    this.keys.on('lease', (l) => this.emit('lease', l));
    this.keys.on('write-failed', ({ key, error }) =>
      this.emit('problem', { what: 'write', detail: `${key}: ${(error as Error).message}` }),
    );
  }

  get node(): string {
    return this.#o.node;
  }

  get revision(): number {
    return this.watch.revision;
  }

  get connected(): boolean {
    return this.watch.connected;
  }

  /** Starts the watch (resolves after its first read, or its failure: retried). */
  async start(): Promise<void> {
    await this.watch.start();
  }

  /** Stops; `revoke` (a final stop) takes this node's keys out of the store at once. */
  async close(revoke = false): Promise<void> {
    this.#clock.clearTimeout(this.#digestTimer);
    this.membership.close();
    await this.watch.close();
    await this.keys.close(revoke);
  }

  /** What this node says of its instance (null: not registered). Written only when it changed. */
  register(service: string, instance: string, record: InstanceRecord | null): void {
    this.keys.set(this.layout.instance(service, instance), record ? encodeRecord(record) : null);
  }

  /** An operator's drain of any instance (an admin key, no lease); rejects when etcd does not take it. */
  async setDrain(service: string, instance: string, drained: boolean): Promise<void> {
    const key = this.layout.drain(service, instance);
    if (drained) await this.#o.client.put(key).value(encodeDrain({ by: this.#o.node }));
    else await this.#o.client.delete().key(key);
    this.#drainWrites++;
  }

  drained(service: string, instance: string): boolean {
    return this.watch.drained(service, instance);
  }

  /** The digest of `service`'s rings at the current revision. */
  digest(service: string): string {
    const m = this.membership;
    return ringDigest(this.#o.ringSize, m.ring(service, 'new'), m.ring(service, 'established'));
  }

  /** Every service with members → its digest. */
  digests(): Record<string, string> {
    return Object.fromEntries(this.membership.services().map((s) => [s, this.digest(s)]));
  }

  counters(): EtcdNodeCounters {
    return {
      writes: this.keys.writes + this.#drainWrites,
      watchRestarts: this.watch.restarts,
      watchStalls: this.watch.stalls,
      skipped: { ...this.watch.skipped },
      leasesGranted: this.keys.leasesGranted,
      leasesLost: this.keys.leasesLost,
    };
  }

  #digestSoon(): void {
    if (this.#o.publishDigests === false) return;
    this.#clock.clearTimeout(this.#digestTimer);
    this.#digestTimer = this.#clock.setTimeout(
      () => {
        this.#digestTimer = null;
        this.keys.set(
          this.layout.digest(this.#o.node),
          JSON.stringify({ revision: this.revision, digests: this.digests() }),
        );
      },
      DIGEST_QUIET_MS,
      { unref: true },
    );
  }
}
