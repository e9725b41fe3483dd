// Event-driven fast failure for the local instance: tells when the service's listening TCP socket goes
// away (process died, socket closed), so the check fails at once instead of at the next interval.
// `ListenerWatcher` is the interface; this implementation polls /proc/net/tcp and /proc/net/tcp6 every
// `intervalMs` (default 50 ms) — one read of each table per tick, whatever the number of watches. A
// sock_diag (NETLINK_SOCK_DIAG, inet_diag_req_v2 filtered on LISTEN) implementation through the native addon
// can replace it behind the same interface.

import { readFile } from 'node:fs/promises';
import { type Listener, listenerCovers, parseListeners } from './proc-net.js';

export interface ListenerSpec {
  port: number;
  /** Local addresses the listener must cover (a wildcard listener covers all); empty: any address. */
  addresses: string[];
}

export interface ListenerHandlers {
  /** The listener was present and is gone now. */
  gone(detail: string): void;
  /** It is back after having gone. */
  back?(): void;
}

export interface ListenerWatch {
  close(): void;
}

export interface ListenerWatcher {
  watch(spec: ListenerSpec, handlers: ListenerHandlers): ListenerWatch;
  close(): void;
}

export const DEFAULT_POLL_MS = 50;

interface Entry {
  spec: ListenerSpec;
  handlers: ListenerHandlers;
  present: boolean | null;
}

export function specPresent(spec: ListenerSpec, listeners: Listener[]): boolean {
  return listeners.some(
    (l) =>
      l.port === spec.port &&
      (spec.addresses.length === 0 || spec.addresses.some((a) => listenerCovers(l, a))),
  );
}

export class ProcNetListenerWatcher implements ListenerWatcher {
  readonly #entries = new Set<Entry>();
  readonly #intervalMs: number;
  readonly #tables: string[];
  #timer: NodeJS.Timeout | null = null;
  #busy = false;

  constructor(opts: { intervalMs?: number; procNet?: string } = {}) {
    this.#intervalMs = opts.intervalMs ?? DEFAULT_POLL_MS;
    const dir = opts.procNet ?? '/proc/net';
    this.#tables = [`${dir}/tcp`, `${dir}/tcp6`];
  }

  watch(spec: ListenerSpec, handlers: ListenerHandlers): ListenerWatch {
    const entry: Entry = { spec, handlers, present: null };
    this.#entries.add(entry);
    if (this.#timer === null) {
      this.#timer = setInterval(() => void this.poll(), this.#intervalMs);
      this.#timer.unref();
    }
    void this.poll();
    return { close: () => this.#entries.delete(entry) };
  }

  /** Reads the tables once and fires gone/back for the watches whose state changed. */
  async poll(): Promise<void> {
    if (this.#busy || this.#entries.size === 0) return;
    this.#busy = true;
    try {
      const tables = await Promise.all(this.#tables.map((t) => readFile(t, 'utf8').catch(() => '')));
      const listeners = tables.flatMap(parseListeners);
      for (const e of this.#entries) {
        const now = specPresent(e.spec, listeners);
        if (e.present === true && !now) e.handlers.gone(`no listening socket on port ${e.spec.port}`);
        if (e.present === false && now) e.handlers.back?.();
        e.present = now;
      }
    } finally {
      this.#busy = false;
    }
  }

  close(): void {
    this.#entries.clear();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}
