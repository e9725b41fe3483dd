// A reserve of file descriptors: a few fds held open on /dev/null from the start and closed all at once
// when the process runs short (EMFILE or ENFILE seen, resource-faults.ts), so the agent can still write
// its log, answer its control socket and run its checks while the cause is found; taken again after
// `retakeMs` on the injected clock (a timer that does not keep the process alive), as many as can be opened
// then (the rest at the next try).
//
// The limit itself: Node raises the soft RLIMIT_NOFILE to the hard one when it starts (PlatformInit in
// src/node.cc), so the limit that counts is the hard one — the unit's LimitNOFILE. fdLimits() reads both
// for the start-up log line.

import { closeSync, openSync, readFileSync } from 'node:fs';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';

/** Fds held in reserve. */
export const FD_RESERVE = 8;
/** How long after a release the reserve is taken again. */
export const FD_RETAKE_MS = 1_000;
const RESERVE_PATH = '/dev/null';
const LIMITS_PATH = '/proc/self/limits';
const NOFILE_LINE = /^Max open files\s+(\S+)\s+(\S+)/m;

export interface FdReserveOptions {
  size?: number;
  retakeMs?: number;
  /** Default: the system clock. */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

export class FdReserve {
  readonly #size: number;
  readonly #retakeMs: number;
  readonly #clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  #fds: number[] = [];
  #retake: TimerHandle = null;
  #closed = false;

  constructor(opts: FdReserveOptions = {}) {
    this.#size = opts.size ?? FD_RESERVE;
    this.#retakeMs = opts.retakeMs ?? FD_RETAKE_MS;
    this.#clock = opts.clock ?? systemClock;
  }

  /** Fds held now. */
  get held(): number {
    return this.#fds.length;
  }

  /** Tops the reserve up; returns how many fds it holds. Short of fds, it tries again after retakeMs. */
  take(): number {
    if (this.#closed) return 0;
    while (this.#fds.length < this.#size) {
      let fd: number;
      try {
        fd = openSync(RESERVE_PATH, 'r');
      } catch {
        break; // still short: the retake timer tries again
      }
      this.#fds.push(fd);
    }
    if (this.#fds.length < this.#size) this.#arm();
    return this.#fds.length;
  }

  /** Hands every reserved fd back to the process; returns how many. Taken again after retakeMs. */
  release(): number {
    const n = this.#fds.length;
    for (const fd of this.#fds.splice(0)) closeSync(fd);
    if (!this.#closed) this.#arm();
    return n;
  }

  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#retake);
    this.#retake = null;
    this.release();
  }

  #arm(): void {
    if (this.#retake !== null) return;
    this.#retake = this.#clock.setTimeout(
      () => {
        this.#retake = null;
        this.take();
      },
      this.#retakeMs,
      { unref: true },
    );
  }
}

/** The soft and hard RLIMIT_NOFILE of this process (Infinity: unlimited); null when unreadable. */
export function fdLimits(text?: string): { soft: number; hard: number } | null {
  let limits = text;
  if (limits === undefined) {
    try {
      limits = readFileSync(LIMITS_PATH, 'utf8');
    } catch {
      return null;
    }
  }
  const m = NOFILE_LINE.exec(limits);
  if (!m) return null;
  const value = (v: string) => (v === 'unlimited' ? Number.POSITIVE_INFINITY : Number(v));
  return { soft: value(m[1]!), hard: value(m[2]!) };
}
