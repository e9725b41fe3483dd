// Event-driven fast failure for the local instance: tells when the service's listening TCP socket goes
// away (process died, socket closed), so the check fails at once instead of at the next interval.
//
// `ListenerWatcher` is the interface; PollingListenerWatcher implements it over a ListenerSource:
// - it polls the source every `intervalMs`, one listing per tick whatever the number of watches: sock_diag
//   through the native addon (listener-sources.ts; LISTEN only, so the kernel skips the established hash)
//   or, without the addon, the listening prefix of /proc/net/tcp and /proc/net/tcp6 (proc-net.ts);
// - and, for speed without a fast poll, it holds one idle "sentinel" TCP connection to each present
//   listener: when the service process dies the kernel closes its end, our socket sees FIN/RST at once, and
//   the listeners are read right then (and at 5, 15 and 40 ms after, in case the listener's fd closes after
//   the connection's). A sentinel closed while the listener is still there is reopened, at most once per
//   `sentinelRetryMs`.
// - with a connection source (sock_diag), each poll also reads the accept queue and the connections of
//   every watched port that has a `stalled` handler and passes them to a StallTracker (stall-signs.ts):
//   a service that still listens but has stopped accepting or answering is reported at the poll that
//   sees it, for its checks to run at their fast interval at once; and with a `lookup`, the one
//   connection that would be the first to become a sign is looked up again (by its 4-tuple) when it
//   would, so a stall is reported at stall time, not up to one poll later;
// - with an error-answer source (a packet tap, http-error-tap.ts), each poll also counts the HTTP 5xx
//   answers sent from every watched HTTP port since the last poll: any is reported the same way.
// A listing that fails (no fd to spare, a netlink error) says nothing about the listeners: that poll
// changes no watch's state and goes to `onSourceError`; the next one tries again.
// The poll, the re-reads and the sentinel's retry bound run on the injected clock.

import { connect, isIPv6, type Socket } from 'node:net';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { ErrorAnswerSource } from './http-error-tap.js';
import { type Listener, listenerCovers } from './proc-net.js';
import {
  type AcceptQueue,
  type ConnectionTuple,
  DEFAULT_STALL_MS,
  type ServedConnection,
  StallTracker,
} from './stall-signs.js';

/** A listening socket, with its accept queue when the source can tell it. */
export interface QueuedListener extends Listener {
  queue?: AcceptQueue;
}

/** Lists the TCP listening sockets of this network namespace. */
export type ListenerSource = () => Promise<QueuedListener[]> | QueuedListener[];

/** Lists the established connections to local ports (server side) of this network namespace, by port. */
export type ConnectionSource = (
  ports: readonly number[],
) => Promise<Map<number, ServedConnection[]>> | Map<number, ServedConnection[]>;

/** Looks one connection up again by its 4-tuple (null: gone). */
export type ConnectionLookup = (tuple: ConnectionTuple) => ServedConnection | null;

export interface ListenerSpec {
  port: number;
  /** Local addresses the listener must cover (a wildcard listener covers all); empty: any address. */
  addresses: string[];
  /** How long a connection may wait (accept or answer) before `stalled` is called (default 100 ms). */
  stallMs?: number;
  /** The port serves cleartext HTTP/1.x: a 5xx answer sent from it is a sign too (http-error-tap.ts). */
  httpErrors?: boolean;
}

export interface ListenerHandlers {
  /** The listener was present and is gone now. */
  gone(detail: string): void;
  /** It is back after having gone. */
  back?(): void;
  /**
   * A sign that the service has stopped serving (stall-signs.ts); called at every poll that sees one,
   * with how long the connection behind it has waited (ms; 0 when no connection is: a 5xx answer).
   */
  stalled?(detail: string, waitedMs: number): void;
}

export interface ListenerWatch {
  close(): void;
}

/** A watch of the polling watcher, with what it knows now. */
export interface PollingWatch extends ListenerWatch {
  /** Whether the listener was there at the last listing (null: not listed yet). */
  readonly present: boolean | null;
  /** Whether a sentinel connection to the listener is established. */
  readonly guarded: boolean;
}

export interface ListenerWatcher {
  watch(spec: ListenerSpec, handlers: ListenerHandlers): ListenerWatch;
  close(): void;
}

export interface PollingWatcherOptions {
  /** Poll period (default 100 ms; the backstop when no sentinel can be held). */
  intervalMs?: number;
  /** Hold sentinel connections (default true). */
  sentinel?: boolean;
  sentinelRetryMs?: number;
  /** A listing failed (the watches keep their state). */
  onSourceError?: (err: unknown) => void;
  /** Where the stall signs are read (none: `stalled` is never called). */
  connections?: ConnectionSource;
  /** Where 5xx answers from `httpErrors` ports are counted (none: no error sign). */
  errorAnswers?: ErrorAnswerSource;
  /** Looks a due connection up again when it would become a sign (none: only the polls see it). */
  lookup?: ConnectionLookup;
  /** Default: the system clock. */
  clock?: Clock;
}

export const DEFAULT_POLL_MS = 100;
export const DEFAULT_SENTINEL_RETRY_MS = 1000;
/**
 * Re-reads after a sentinel closed, in case the listener was still listed: a dying process closes its
 * fds one by one, after tearing down its memory, which takes longer on a loaded host.
 */
const RECHECK_MS = [5, 15, 40];
/** After a due connection's stall time: tcp_info's ages are whole ms (jiffies), so one more ms. */
const RECHECK_SLACK_MS = 1;

interface Entry {
  spec: ListenerSpec;
  handlers: ListenerHandlers;
  present: boolean | null;
  /** The listener seen at the last poll (its address picks the sentinel's destination). */
  listener: Listener | null;
  sentinel: Socket | null;
  sentinelAt: number;
  stall: StallTracker;
  /** The pending look-up of the stall tracker's due connection. */
  recheck: TimerHandle;
}

const serves = (spec: ListenerSpec, l: Listener): boolean =>
  l.port === spec.port && (spec.addresses.length === 0 || spec.addresses.some((a) => listenerCovers(l, a)));

export function findListener(spec: ListenerSpec, listeners: Listener[]): Listener | null {
  return listeners.find((l) => serves(spec, l)) ?? null;
}

/** Where a sentinel connects: the listener's own address, or the loopback of a wildcard's family. */
function sentinelTarget(l: Listener): string {
  if (l.address === '0.0.0.0') return '127.0.0.1';
  if (l.address === '::') return '::1';
  return l.address;
}

export class PollingListenerWatcher implements ListenerWatcher {
  readonly #entries = new Set<Entry>();
  readonly #source: ListenerSource;
  readonly #intervalMs: number;
  readonly #sentinel: boolean;
  readonly #retryMs: number;
  readonly #onSourceError: ((err: unknown) => void) | undefined;
  readonly #connections: ConnectionSource | undefined;
  readonly #errorAnswers: ErrorAnswerSource | undefined;
  readonly #lookup: ConnectionLookup | undefined;
  readonly #clock: Clock;
  #timer: TimerHandle = null;
  #busy = false;
  #again = false;

  constructor(source: ListenerSource, opts: PollingWatcherOptions = {}) {
    this.#source = source;
    this.#intervalMs = opts.intervalMs ?? DEFAULT_POLL_MS;
    this.#sentinel = opts.sentinel ?? true;
    this.#retryMs = opts.sentinelRetryMs ?? DEFAULT_SENTINEL_RETRY_MS;
    this.#onSourceError = opts.onSourceError;
    this.#connections = opts.connections;
    this.#errorAnswers = opts.errorAnswers;
    this.#lookup = opts.lookup;
    this.#clock = opts.clock ?? systemClock;
  }

  watch(spec: ListenerSpec, handlers: ListenerHandlers): PollingWatch {
    const entry: Entry = {
      spec,
      handlers,
      present: null,
      listener: null,
      sentinel: null,
      sentinelAt: -Infinity,
      stall: new StallTracker(),
      recheck: null,
    };
    this.#entries.add(entry);
    if (this.#timer === null)
      this.#timer = this.#clock.setInterval(() => void this.poll(), this.#intervalMs, { unref: true });
    void this.poll();
    return {
      close: () => {
        this.#entries.delete(entry);
        entry.sentinel?.destroy();
        this.#clock.clearTimeout(entry.recheck);
      },
      get present() {
        return entry.present;
      },
      get guarded() {
        return entry.sentinel?.readyState === 'open';
      },
    };
  }

  /** Lists the listeners once and fires gone/back for the watches whose state changed. */
  async poll(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    if (this.#entries.size === 0) return;
    this.#busy = true;
    try {
      const listeners = await this.#list();
      if (listeners !== null) {
        for (const e of this.#entries) this.#update(e, findListener(e.spec, listeners));
        await this.#scanStalls(listeners);
        this.#scanErrorAnswers();
      }
    } finally {
      this.#busy = false;
    }
    if (this.#again) {
      this.#again = false;
      await this.poll();
    }
  }

  /** Reads the connections of every port with a `stalled` watch (one listing per poll) and looks for signs. */
  async #scanStalls(listeners: QueuedListener[]): Promise<void> {
    const source = this.#connections;
    if (!source) return;
    const watching = [...this.#entries].filter((e) => e.handlers.stalled && e.present);
    for (const e of this.#entries) if (!watching.includes(e)) e.stall.reset();
    if (watching.length === 0) return;
    const byPort = await this.#listConnections(source, [...new Set(watching.map((e) => e.spec.port))]);
    if (!byPort) return;
    for (const e of watching) {
      const conns = byPort.get(e.spec.port) ?? [];
      const queues = listeners.flatMap((l) => (l.queue && serves(e.spec, l) ? [l.queue] : []));
      const sign = e.stall.scan(queues, conns, this.#clock.now(), e.spec.stallMs ?? DEFAULT_STALL_MS);
      if (sign !== null && this.#entries.has(e)) e.handlers.stalled?.(sign, e.stall.signWaitMs);
      else this.#armRecheck(e);
    }
  }

  /** Looks the tracker's due connection up again when it would become a sign (one pending at a time). */
  #armRecheck(e: Entry): void {
    const lookup = this.#lookup;
    const due = e.stall.due;
    if (!lookup || !due?.conn.tuple) return;
    this.#clock.clearTimeout(e.recheck);
    const tuple = due.conn.tuple;
    e.recheck = this.#clock.setTimeout(
      () => {
        e.recheck = null;
        if (!this.#entries.has(e) || !e.present) return;
        let conn: ServedConnection | null;
        try {
          conn = lookup(tuple);
        } catch (err) {
          this.#onSourceError?.(err);
          return;
        }
        const sign = e.stall.recheck(conn, this.#clock.now(), e.spec.stallMs ?? DEFAULT_STALL_MS);
        if (sign !== null) e.handlers.stalled?.(sign, e.stall.signWaitMs);
      },
      Math.max(0, due.at - this.#clock.now()) + RECHECK_SLACK_MS,
      { unref: true },
    );
  }

  /** Counts the 5xx answers sent from every `httpErrors` port since the last poll: any is a sign. */
  #scanErrorAnswers(): void {
    const source = this.#errorAnswers;
    if (!source) return;
    const watching = [...this.#entries].filter((e) => e.handlers.stalled && e.present && e.spec.httpErrors);
    if (watching.length === 0) return;
    let counts: ReturnType<ErrorAnswerSource>;
    try {
      counts = source(watching.map((e) => e.spec.port));
    } catch (err) {
      this.#onSourceError?.(err);
      return;
    }
    for (const e of watching) {
      const seen = counts.get(e.spec.port);
      if (seen && seen.count > 0 && this.#entries.has(e))
        e.handlers.stalled?.(`${seen.count} HTTP ${seen.last} answer(s) sent from port ${e.spec.port}`, 0);
    }
  }

  async #listConnections(
    source: ConnectionSource,
    ports: number[],
  ): Promise<Map<number, ServedConnection[]> | null> {
    try {
      return await source(ports);
    } catch (err) {
      this.#onSourceError?.(err);
      return null;
    }
  }

  /** The source's listing, or null when it failed. */
  async #list(): Promise<QueuedListener[] | null> {
    try {
      return await this.#source();
    } catch (err) {
      this.#onSourceError?.(err);
      return null;
    }
  }

  #update(e: Entry, found: Listener | null): void {
    const now = found !== null;
    if (e.present === true && !now) e.handlers.gone(`no listening socket on port ${e.spec.port}`);
    if (e.present === false && now) e.handlers.back?.();
    e.present = now;
    e.listener = found;
    if (now && this.#sentinel && e.sentinel === null && this.#entries.has(e)) this.#openSentinel(e);
  }

  #openSentinel(e: Entry): void {
    const t = this.#clock.now();
    if (t - e.sentinelAt < this.#retryMs || e.listener === null) return;
    e.sentinelAt = t;
    const host = sentinelTarget(e.listener);
    const sock = connect({ host, port: e.spec.port, family: isIPv6(host) ? 6 : 4 });
    e.sentinel = sock;
    sock.setNoDelay(true);
    sock.resume(); // discard anything the service sends
    sock.on('error', () => {});
    sock.once('close', () => {
      if (e.sentinel === sock) e.sentinel = null;
      if (!this.#entries.has(e)) return;
      void this.poll();
      for (const ms of RECHECK_MS) this.#clock.setTimeout(() => void this.poll(), ms, { unref: true });
    });
  }

  close(): void {
    for (const e of this.#entries) {
      e.sentinel?.destroy();
      this.#clock.clearTimeout(e.recheck);
    }
    this.#entries.clear();
    this.#clock.clearInterval(this.#timer);
    this.#timer = null;
  }
}
