// The watch's liveness check: a watch can report itself connected and still deliver nothing (etcd's
// server side dropped it, the client library lost the watcher, a stream stuck behind a backlog), and an
// agent whose watch stopped keeps stale rings with nothing to tell. Every WATCH_CHECK_MS (the first at a
// random point of the interval, so a fleet's checks spread out) one cheap read of the watched range —
// the key of the highest mod revision only, and the range's key count — is compared with what the
// watch holds:
//   - a key in the store whose mod revision is past the watch's last revision (a put not delivered), or
//   - a key count other than the keys the watch holds (a creation or a deletion not delivered), or
//   - a watch whose creation etcd has not answered (or whose stream is down) for WATCH_ESTABLISH_MS
//     while etcd answers reads (a shorter wait is the library's reconnect or a busy stream: not judged)
// makes the watch suspect; WATCH_CHECK_CONFIRM_MS later a second read decides: still behind and the
// watch delivered nothing in between → stuck (`stuck` is called: the watch starts over with a full read).
// A watch that delivers, however late, is never stuck (events in flight at the first read arrive before
// the second). A failed read decides nothing (etcd away: the last set stays). The read is serializable
// (member-local, no consensus round): a lagging member can only under-report, never fake a lag.
//
// Not detected: a put of an already known key that is lost while later puts arrive (the key count and
// the highest revision then both agree); the resync after a stream break or a compaction covers those.

import type { Clock, TimerHandle } from '../../clock.js';
import { WATCH_CHECK_CONFIRM_MS, WATCH_CHECK_MS, WATCH_ESTABLISH_MS } from './limits.js';

/** What the watch holds when asked. */
export interface WatchView {
  /** A watcher exists (else nothing is checked: the watch is starting over). */
  live: boolean;
  /** 0 while etcd has answered its creation and its stream is up; else how long it has not (ms). */
  unestablishedMs: number;
  /** The mod revision of the last change applied (or the full read's revision). */
  revision: number;
  /** Keys of the range the watch holds (null: unknown, the count is not compared). */
  keys: number | null;
  /** Responses received so far (any response, a progress notification too). */
  delivered: number;
}

/** What the store holds: the range's highest mod revision (0: empty) and its key count. */
export interface StoreView {
  maxModRevision: number;
  count: number;
}

/** Why `w` is behind `s`, or null when it is not. */
export function behind(w: WatchView, s: StoreView): string | null {
  if (w.unestablishedMs > 0)
    return w.unestablishedMs >= WATCH_ESTABLISH_MS
      ? `the store answers, the watch is not established after ${Math.round(w.unestablishedMs)} ms`
      : null;
  if (s.maxModRevision > w.revision)
    return `the store holds a change at revision ${s.maxModRevision}, the watch stopped at ${w.revision}`;
  if (w.keys !== null && w.keys !== s.count)
    return `the store holds ${s.count} keys, the watch ${w.keys} (at revision ${w.revision})`;
  return null;
}

export interface WatchLivenessOptions {
  clock: Clock;
  view: () => WatchView;
  /** One read of the store's side; rejects when etcd does not answer. */
  read: () => Promise<StoreView>;
  /** The watch is stuck: start it over. */
  stuck: (why: string) => void;
  /** Where in the first interval the first check falls, in [0, 1) (default random). */
  phase?: number;
}

export class WatchLiveness {
  readonly #o: WatchLivenessOptions;
  #timer: TimerHandle = null;
  #running = false;
  /** Checks that found the watch stuck. */
  stalls = 0;

  constructor(o: WatchLivenessOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#next(WATCH_CHECK_MS * (this.#o.phase ?? Math.random()));
  }

  stop(): void {
    this.#running = false;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #next(ms: number, fn: () => Promise<void> = () => this.#check()): void {
    if (!this.#running) return;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = this.#o.clock.setTimeout(
      () => {
        this.#timer = null;
        void fn().catch(() => this.#next(WATCH_CHECK_MS));
      },
      ms,
      { unref: true },
    );
  }

  /** The view and the store's side, or null (not live, or no answer). */
  async #compare(): Promise<{ w: WatchView; why: string | null } | null> {
    if (!this.#o.view().live) return null;
    const s = await this.#o.read().catch(() => null);
    // the watch's view after the read: a response that arrived meanwhile counts for the watch
    const w = this.#o.view();
    if (!s || !w.live) return null;
    return { w, why: behind(w, s) };
  }

  async #check(): Promise<void> {
    const first = await this.#compare();
    if (!first?.why) return this.#next(WATCH_CHECK_MS);
    const delivered = first.w.delivered;
    this.#next(WATCH_CHECK_CONFIRM_MS, async () => {
      const second = await this.#compare();
      if (second?.why && second.w.delivered === delivered) {
        this.stalls++;
        this.#o.stuck(second.why);
      }
      this.#next(WATCH_CHECK_MS);
    });
  }
}
