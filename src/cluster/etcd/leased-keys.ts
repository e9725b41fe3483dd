// The keys one agent keeps in etcd under its own lease (its instances, its digests): `set` says what a key
// should hold, and only a difference from what was last written under the live lease is written — the
// lease's keepalives carry liveness, so a health check that changes nothing writes nothing. When the lease
// is lost (etcd said it expired, or no keepalive got through for twice its TTL) every key is written again
// under a new lease, as soon as etcd answers (retried with a doubling delay) — unless etcd still holds the
// lost lease (a store that restarted renews its leases for one TTL): then that lease is kept alive again
// (kept-lease.ts) and its keys, never gone from the store, are not written again. A write that fails is retried
// after WRITE_RETRY_MS; nothing here throws to the caller. The etcd client keeps its own keepalive timers
// (real time, as etcd's TTL is); the retries here run on the injected clock.

import { EventEmitter } from 'node:events';
import type { Etcd3, Lease } from 'etcd3';
import type { Clock, TimerHandle } from '../../clock.js';
import { KeptLease, leaseTtlLeft } from './kept-lease.js';
import { REGRANT_MAX_MS, REGRANT_MIN_MS, WRITE_RETRY_MS } from './limits.js';

const MS_PER_S = 1000;

export interface LeasedKeysEvents {
  /** A lease was granted (its id, hex) or lost (the error's text). */
  lease: [{ granted: boolean; id: string | null; detail?: string }];
  'write-failed': [{ key: string; error: unknown }];
}

/** A lease as the keys use it: the library's own (granted here) or one kept from before. */
type HeldLease = Pick<Lease, 'put' | 'revoke' | 'release'> & {
  on(event: 'lost', fn: (err: Error) => void): unknown;
};

export class LeasedKeys extends EventEmitter<LeasedKeysEvents> {
  readonly #client: Etcd3;
  readonly #ttlS: number;
  readonly #clock: Clock;
  readonly #want = new Map<string, string>();
  readonly #written = new Map<string, string>();
  #lease: HeldLease | null = null;
  #leaseId: string | null = null;
  /** The lease lost last and what it held: kept again if etcd still has it. */
  #lostLease: { id: string; written: Map<string, string> } | null = null;
  #running = false;
  #dirty = false;
  #closed = false;
  #retry: TimerHandle = null;
  #regrantMs = REGRANT_MIN_MS;
  /** Puts and deletes sent and acknowledged. */
  writes = 0;
  /** The store's revision after this node's last acknowledged write. */
  lastRevision = 0;
  readonly #revisions = new Map<string, number>();
  leasesGranted = 0;
  leasesLost = 0;
  /** Lost leases that etcd still held, kept alive again. */
  leasesKept = 0;

  constructor(client: Etcd3, leaseTtlMs: number, clock: Clock) {
    super();
    this.#client = client;
    this.#ttlS = Math.max(1, Math.round(leaseTtlMs / MS_PER_S));
    this.#clock = clock;
  }

  /** The live lease's id (decimal, as etcd prints it), or null. */
  get leaseId(): string | null {
    return this.#leaseId;
  }

  get ttlSeconds(): number {
    return this.#ttlS;
  }

  /** What `key` should hold (null: nothing). Written only if it differs from what the live lease holds. */
  set(key: string, value: string | null): void {
    if (value === null ? !this.#want.has(key) : this.#want.get(key) === value) return;
    if (value === null) this.#want.delete(key);
    else this.#want.set(key, value);
    this.#kick();
  }

  get(key: string): string | undefined {
    return this.#want.get(key);
  }

  /** Resolves when everything wanted is written (tests; may never resolve while etcd is away). */
  async settled(): Promise<void> {
    while (this.#running || this.#dirty || !this.#inStep()) await new Promise((r) => setImmediate(r));
  }

  /** Stops writing; `revoke`: the lease is revoked, so every key of it goes at once (a final stop). */
  async close(revoke = false): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#retry);
    const lease = this.#lease;
    this.#lease = null;
    if (!lease) return;
    if (revoke) await lease.revoke().catch(() => undefined);
    else lease.release();
  }

  /** The revision of the last acknowledged write of `key` (0: none yet). */
  revisionOf(key: string): number {
    return this.#revisions.get(key) ?? 0;
  }

  #wrote(key: string, revision: number): void {
    this.lastRevision = revision;
    this.#revisions.set(key, revision);
  }

  #inStep(): boolean {
    if (this.#want.size !== this.#written.size) return false;
    for (const [k, v] of this.#want) if (this.#written.get(k) !== v) return false;
    return true;
  }

  #kick(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#dirty = true;
      return;
    }
    this.#running = true;
    void this.#run();
  }

  async #run(): Promise<void> {
    let retryMs = 0;
    try {
      do {
        this.#dirty = false;
        retryMs = await this.#flush();
      } while (this.#dirty && retryMs === 0 && !this.#closed);
    } finally {
      this.#running = false;
    }
    if (retryMs > 0 && !this.#closed && this.#retry === null)
      this.#retry = this.#clock.setTimeout(
        () => {
          this.#retry = null;
          this.#kick();
        },
        retryMs,
        { unref: true },
      );
  }

  /** One pass; returns 0 when done, else the delay before the next try. */
  async #flush(): Promise<number> {
    if (this.#inStep() && this.#lease) return 0;
    if (this.#want.size === 0 && this.#written.size === 0) return 0;
    const lease = this.#lease ?? (await this.#keep()) ?? (await this.#grant());
    if (!lease) {
      const ms = this.#regrantMs;
      this.#regrantMs = Math.min(ms * 2, REGRANT_MAX_MS);
      return ms;
    }
    for (const [key, value] of [...this.#want])
      if (this.#written.get(key) !== value) {
        try {
          const res = await lease.put(key).value(value).exec();
          this.#wrote(key, Number(res.header.revision));
        } catch (error) {
          this.emit('write-failed', { key, error });
          return WRITE_RETRY_MS;
        }
        if (this.#lease !== lease) return REGRANT_MIN_MS; // lost meanwhile: all again under a new one
        this.#written.set(key, value);
        this.writes++;
      }
    for (const key of [...this.#written.keys()])
      if (!this.#want.has(key)) {
        try {
          const res = await this.#client.delete().key(key).exec();
          this.#wrote(key, Number(res.header.revision));
        } catch (error) {
          this.emit('write-failed', { key, error });
          return WRITE_RETRY_MS;
        }
        this.#written.delete(key);
        this.writes++;
      }
    return 0;
  }

  /** The lost lease again, if etcd still holds it (its keys are there: nothing is written again). */
  async #keep(): Promise<HeldLease | null> {
    const lost = this.#lostLease;
    if (!lost) return null;
    const ttl = await leaseTtlLeft(this.#client, lost.id);
    if (ttl === null) return null; // no answer: granting fails too, and is retried
    this.#lostLease = null;
    if (ttl <= 0 || this.#closed) return null;
    const lease = new KeptLease(this.#client, lost.id, this.#ttlS);
    lease.on('lost', (err: Error) => this.#lost(lease, err));
    this.#lease = lease;
    this.#leaseId = lost.id;
    for (const [k, v] of lost.written) this.#written.set(k, v);
    this.#regrantMs = REGRANT_MIN_MS;
    this.leasesKept++;
    this.emit('lease', { granted: true, id: lost.id, detail: 'kept: etcd still held it' });
    return lease;
  }

  async #grant(): Promise<Lease | null> {
    const lease = this.#client.lease(this.#ttlS, { autoKeepAlive: true });
    lease.on('lost', (err: Error) => this.#lost(lease, err));
    let id: string;
    try {
      id = String(await lease.grant());
    } catch (err) {
      lease.release();
      this.emit('lease', { granted: false, id: null, detail: (err as Error).message });
      return null;
    }
    if (this.#closed) {
      await lease.revoke().catch(() => undefined);
      return null;
    }
    this.#lease = lease;
    this.#leaseId = id;
    this.#lostLease = null;
    this.#written.clear();
    this.#regrantMs = REGRANT_MIN_MS;
    this.leasesGranted++;
    this.emit('lease', { granted: true, id });
    return lease;
  }

  #lost(lease: HeldLease, err: Error): void {
    if (this.#lease !== lease) return;
    if (this.#leaseId !== null) this.#lostLease = { id: this.#leaseId, written: new Map(this.#written) };
    this.#lease = null;
    this.#leaseId = null;
    this.#written.clear();
    this.leasesLost++;
    this.emit('lease', { granted: false, id: null, detail: err.message });
    this.#kick();
  }
}
