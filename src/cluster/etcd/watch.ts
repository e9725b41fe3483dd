// One agent's single watch on its fabric's instances and drains (keys.ts, the watched range): a range read
// gives the set at one revision, then a watch from the next revision applies every change in order, and
// after each watch response the set is the store's state at the revision of its last event — the
// revision every host's rings are built at. The etcd client reconnects a broken stream and resumes where it stopped; a
// watch that etcd ends (a compacted revision, a canceled watch) or a read that fails starts over with a
// fresh read after WATCH_RESTART_MS (counted in `restarts`). While etcd is away nothing changes here: the
// last set stays (partitions cost no traffic). A watch that reports itself connected and delivers
// nothing while the store moves on is found by the liveness check (watch-liveness.ts) and starts over
// the same way (counted in `stalls` and `restarts`).
//
// Every key and value is hostile: a key of no known shape, a value too big, not JSON or not a record is
// skipped and counted (`bad`), and the instance it named leaves the set (its key no longer holds a
// record); past MAX_KEYS keys in all, or MAX_INSTANCES_PER_SERVICE in one service, more are skipped and
// counted. Nothing received throws out of here: every handler catches.

import { EventEmitter } from 'node:events';
import type { Etcd3, IKeyValue, IWatchResponse, Watcher } from 'etcd3';
import type { Clock, TimerHandle } from '../../clock.js';
import type { KeyLayout } from './keys.js';
import { MAX_INSTANCES_PER_SERVICE, MAX_KEY_BYTES, WATCH_RESTART_MS } from './limits.js';
import { type InstanceRecord, parseDrain, parseRecord, type SkipReason } from './record.js';
import { type StoreView, WatchLiveness } from './watch-liveness.js';

/** Most keys kept in all (instances and drains of every service). */
export const MAX_KEYS = 65_536;

/** One registered instance as the store holds it. */
export interface Registered {
  service: string;
  instance: string;
  record: InstanceRecord;
  modRevision: number;
  /** The lease the key is attached to (decimal), '0' for none. */
  lease: string;
}

/** What one applied step changed: the services touched, and the instances that left the store. */
export interface WatchChange {
  revision: number;
  services: ReadonlySet<string>;
  gone: readonly Registered[];
  /** A full read replaced the set (start, or after a restart). */
  resync: boolean;
}

export interface MemberWatchEvents {
  change: [WatchChange];
  connected: [boolean];
  error: [{ detail: string }];
}

const key = (service: string, instance: string): string => `${service}/${instance}`;

/** Cancels a watcher without waiting: the library waits for etcd's answer, which a stuck or
 * already-ended watch never gives (its responses are ignored from here on). */
function cancelQuietly(w: Watcher): void {
  void w.cancel().catch(() => undefined);
}

export class MemberWatch extends EventEmitter<MemberWatchEvents> {
  readonly #client: Etcd3;
  readonly #layout: KeyLayout;
  readonly #clock: Clock;
  /** service → instance → registration. */
  readonly instances = new Map<string, Map<string, Registered>>();
  /** `<service>/<instance>` → the drain's writer. */
  readonly drains = new Map<string, string>();
  revision = 0;
  connected = false;
  /** Full reads after the first (a watch ended by etcd, a failed read). */
  restarts = 0;
  readonly skipped: Record<SkipReason, number> = {
    'too-big': 0,
    'not-json': 0,
    invalid: 0,
    'bad-key': 0,
    'too-many': 0,
  };
  #watcher: Watcher | null = null;
  #resyncing = false;
  /** When the watcher of the moment was attached or lost its stream (null: established). */
  #pendingSince: number | null = null;
  #timer: TimerHandle = null;
  #closed = false;
  #started = false;
  /** Every key of the range the watch holds, valid or not (the liveness check compares the count). */
  readonly #present = new Set<string>();
  /** A key too long to keep, or more than MAX_KEYS: the count is unknown until the next full read. */
  #presentUnknown = false;
  /** Watch responses received (the liveness check's sign of life). */
  #delivered = 0;
  readonly #liveness: WatchLiveness;

  constructor(client: Etcd3, layout: KeyLayout, clock: Clock) {
    super();
    this.#client = client;
    this.#layout = layout;
    this.#clock = clock;
    this.#liveness = new WatchLiveness({
      clock,
      view: () => ({
        live: this.#watcher !== null,
        unestablishedMs: this.#pendingSince === null ? 0 : Math.max(1, clock.now() - this.#pendingSince),
        revision: this.revision,
        keys: this.#presentUnknown ? null : this.#present.size,
        delivered: this.#delivered,
      }),
      read: () => this.#readStore(),
      stuck: (why) => {
        void this.#resync();
        // after the resync started: an 'error' without a listener throws
        if (this.listenerCount('error') > 0)
          this.emit('error', { detail: `watch stuck: ${why}; reading the set again` });
      },
    });
  }

  /** Watches found stuck by the liveness check (each started over). */
  get stalls(): number {
    return this.#liveness.stalls;
  }

  /** The client library's watcher of the moment (null while none is established). */
  get watcher(): Watcher | null {
    return this.#watcher;
  }

  /** Reads the set and starts watching; resolves after the first try (a failure is retried). */
  async start(): Promise<void> {
    await this.#resync();
    this.#liveness.start();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#liveness.stop();
    this.#clock.clearTimeout(this.#timer);
    const w = this.#watcher;
    this.#watcher = null;
    if (w) cancelQuietly(w);
  }

  get size(): number {
    let n = this.drains.size;
    for (const m of this.instances.values()) n += m.size;
    return n;
  }

  drained(service: string, instance: string): boolean {
    return this.drains.has(key(service, instance));
  }

  async #resync(): Promise<void> {
    if (this.#closed || this.#resyncing) return;
    this.#resyncing = true;
    try {
      await this.#readAndWatch();
    } finally {
      this.#resyncing = false;
    }
  }

  async #readAndWatch(): Promise<void> {
    if (this.#started) this.restarts++;
    this.#started = true;
    const old = this.#watcher;
    this.#watcher = null;
    if (old) cancelQuietly(old);
    const { start, end } = this.#layout.watched;
    let revision: number;
    let kvs: IKeyValue[];
    try {
      const res = await this.#client.getAll().inRange({ start, end }).exec();
      revision = Number(res.header.revision);
      kvs = res.kvs;
    } catch (err) {
      this.#setConnected(false);
      this.emit('error', { detail: (err as Error).message });
      this.#restartLater();
      return;
    }
    if (this.#closed) return;
    this.#replace(kvs, revision);
    // The watcher is attached at once and goes live when etcd answers its creation ('connected'):
    // nothing here waits for that (a creation stuck behind a busy stream is the liveness check's to find).
    const w = this.#client
      .watch()
      .inRange({ start, end })
      .startRevision(String(revision + 1))
      .watcher();
    this.#watcher = w;
    this.#pendingSince = this.#clock.now();
    this.#setConnected(false);
    // Only the watcher of the moment speaks: a replaced one's late responses are older than the read.
    const mine = (fn: () => void) => () => {
      if (this.#watcher === w) this.#guard(fn);
    };
    w.on('data', (res) => mine(() => this.#onData(res))());
    w.on(
      'connected',
      mine(() => {
        this.#pendingSince = null;
        this.#setConnected(true);
      }),
    );
    w.on(
      'disconnected',
      mine(() => {
        this.#pendingSince ??= this.#clock.now();
        this.#setConnected(false);
      }),
    );
    w.on('error', (err) =>
      mine(() => {
        this.emit('error', { detail: err.message });
        this.#restartLater();
      })(),
    );
  }

  /** The store's side for the liveness check: one key (the highest mod revision) and the count. */
  async #readStore(): Promise<StoreView> {
    const { start, end } = this.#layout.watched;
    const res = await this.#client
      .getAll()
      .inRange({ start, end })
      .serializable(true)
      .sort('Mod', 'Descend')
      .limit(1)
      .exec();
    return { maxModRevision: Number(res.kvs[0]?.mod_revision ?? 0), count: Number(res.count) };
  }

  #track(kv: IKeyValue, present: boolean): void {
    if (kv.key.length > MAX_KEY_BYTES) {
      this.#presentUnknown = true;
      return;
    }
    const k = kv.key.toString('latin1');
    if (!present) this.#present.delete(k);
    else if (this.#present.size < MAX_KEYS) this.#present.add(k);
    else if (!this.#present.has(k)) this.#presentUnknown = true;
  }

  #restartLater(): void {
    if (this.#closed || this.#timer !== null) return;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = null;
        void this.#resync();
      },
      WATCH_RESTART_MS,
      { unref: true },
    );
  }

  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.emit('error', { detail: `watch handler: ${(err as Error).message}` });
    }
  }

  #setConnected(c: boolean): void {
    if (this.connected === c) return;
    this.connected = c;
    this.emit('connected', c);
  }

  /** A full read: the set becomes exactly `kvs` at `revision`. */
  #replace(kvs: readonly IKeyValue[], revision: number): void {
    const before: Registered[] = [];
    for (const m of this.instances.values()) before.push(...m.values());
    const services = new Set<string>(this.instances.keys());
    for (const k of this.drains.keys()) services.add(k.slice(0, k.indexOf('/')));
    this.instances.clear();
    this.drains.clear();
    this.#present.clear();
    this.#presentUnknown = false;
    for (const kv of kvs) {
      this.#track(kv, true);
      this.#put(kv, services);
    }
    const gone: Registered[] = [];
    for (const r of before) if (!this.instances.get(r.service)?.has(r.instance)) gone.push(r);
    this.revision = revision;
    this.emit('change', { revision, services, gone, resync: true });
  }

  #onData(res: IWatchResponse): void {
    const services = new Set<string>();
    const gone: Registered[] = [];
    this.#delivered++;
    for (const ev of res.events) {
      this.#track(ev.kv, ev.type === 'Put');
      if (ev.type === 'Put') this.#put(ev.kv, services, gone);
      else this.#delete(ev.kv, services, gone);
    }
    // the revision of the last change seen (not the header's: that is the store's revision when the
    // response left, which unwatched writes such as the digests move, and differs from host to host)
    let revision = this.revision;
    for (const ev of res.events) revision = Math.max(revision, Number(ev.kv.mod_revision));
    this.revision = revision;
    if (services.size > 0) this.emit('change', { revision: this.revision, services, gone, resync: false });
  }

  #parseKey(kv: IKeyValue): ReturnType<KeyLayout['parse']> {
    if (kv.key.length > MAX_KEY_BYTES) return null;
    return this.#layout.parse(kv.key.toString('utf8'));
  }

  #put(kv: IKeyValue, services: Set<string>, gone?: Registered[]): void {
    const k = this.#parseKey(kv);
    if (!k) {
      this.skipped['bad-key']++;
      return;
    }
    services.add(k.service);
    if (k.kind === 'drain') {
      const d = parseDrain(kv.value);
      if (typeof d === 'string') {
        this.skipped[d]++;
        this.drains.delete(key(k.service, k.instance));
      } else if (this.drains.has(key(k.service, k.instance)) || this.size < MAX_KEYS)
        this.drains.set(key(k.service, k.instance), d.by);
      else this.skipped['too-many']++;
      return;
    }
    const record = parseRecord(kv.value);
    let m = this.instances.get(k.service);
    const prior = m?.get(k.instance);
    if (typeof record === 'string') {
      this.skipped[record]++;
      if (prior) {
        m!.delete(k.instance);
        gone?.push(prior);
      }
      return;
    }
    if (!prior && (this.size >= MAX_KEYS || (m?.size ?? 0) >= MAX_INSTANCES_PER_SERVICE)) {
      this.skipped['too-many']++;
      return;
    }
    if (!m) {
      m = new Map();
      this.instances.set(k.service, m);
    }
    m.set(k.instance, {
      service: k.service,
      instance: k.instance,
      record,
      modRevision: Number(kv.mod_revision),
      lease: String(kv.lease ?? '0'),
    });
  }

  #delete(kv: IKeyValue, services: Set<string>, gone: Registered[]): void {
    const k = this.#parseKey(kv);
    if (!k) return; // never admitted
    services.add(k.service);
    if (k.kind === 'drain') {
      this.drains.delete(key(k.service, k.instance));
      return;
    }
    const m = this.instances.get(k.service);
    const prior = m?.get(k.instance);
    if (!prior) return;
    m!.delete(k.instance);
    if (m!.size === 0) this.instances.delete(k.service);
    gone.push(prior);
  }
}
