// The reconcile loop of one service: it drives the service toward the state its health asks for, one
// pass at a time and never two passes at once. A change while a pass runs marks it dirty and the loop
// runs again at its end; a pass waiting out a delay (wait()) is woken early when the desired state moves
// away from the one it waits for, so a service that recovers during a delay is not taken further down.
// A pass that throws is retried after RETRY_MS. What a pass does is the caller's (service-agent.ts).

import type { Clock, TimerHandle } from '../clock.js';
import { sleep } from '../clock.js';

/** After a failed pass, the next try. */
export const RETRY_MS = 1000;

export interface ReconcileLoopOptions<S> {
  clock: Clock;
  /** The state the service should reach now; read before each pass and after each wait. */
  desired: () => S;
  /** One pass toward `target`; returns early (and the loop runs again) when `desired()` moved meanwhile. */
  pass: (target: S) => Promise<void>;
  /** A pass threw; the loop tries again after `retryMs`. */
  failed: (err: unknown, retryMs: number) => void;
}

export class ReconcileLoop<S> {
  readonly #o: Pick<ReconcileLoopOptions<S>, 'desired' | 'pass' | 'failed'>;
  readonly #clock: Clock;
  #running: Promise<void> | null = null;
  #dirty = false;
  #stopped = false;
  #retry: TimerHandle = null;
  /** The wait in progress, if any: the state it waits in and how to wake it. */
  #waiting: { target: S; wake: AbortController } | null = null;

  constructor(opts: ReconcileLoopOptions<S>) {
    this.#o = opts;
    this.#clock = opts.clock;
  }

  /** Something changed: run a pass now, or once more after the running one. */
  kick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#dirty = true;
      if (this.#waiting && this.#waiting.target !== this.#o.desired()) this.#interrupt();
      return;
    }
    this.#running = this.#run().finally(() => {
      this.#running = null;
    });
  }

  /** Resolves when no pass is running (a pass started meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Within a pass: waits `ms`; false (early) when the desired state moves away from `target`. */
  async wait(ms: number, target: S): Promise<boolean> {
    const wake = new AbortController();
    this.#waiting = { target, wake };
    try {
      return await sleep(this.#clock, ms, wake.signal);
    } finally {
      if (this.#waiting?.wake === wake) this.#waiting = null;
    }
  }

  /** No pass after the running one; a wait in progress ends at once, a pending retry is dropped. */
  stop(): void {
    this.#stopped = true;
    this.#clock.clearTimeout(this.#retry);
    this.#retry = null;
    this.#interrupt();
  }

  async #run(): Promise<void> {
    do {
      this.#dirty = false;
      try {
        await this.#o.pass(this.#o.desired());
      } catch (err) {
        this.#o.failed(err, RETRY_MS);
        this.#retry ??= this.#clock.setTimeout(() => {
          this.#retry = null;
          this.kick();
        }, RETRY_MS);
        return;
      }
    } while (this.#dirty && !this.#stopped);
  }

  #interrupt(): void {
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting?.wake.abort();
  }
}
