// One log line per key per interval, for a call site that knows what a repeated line is about (the source
// address of a refused connection, the peer that sent ignored entries): the first occurrence of a key is
// written at once, the rest are counted and written as one line with `suppressed: n` when the interval
// ends. The interval starts at the first occurrence after a quiet time. At most `maxKeys` keys are kept per
// interval; further keys share one line (key and `address` OTHER_KEY), so a flood from many addresses is a
// bounded number of lines and entries.
//
// With `carry` (the BGP listener's refused connections), a key that repeated within the interval stays for
// the next one, so its further occurrences are only counted: a steady flood from one key is one line per
// interval rather than two; a key quiet for a whole interval is forgotten and its next occurrence is
// written at once again.
//
// This is a policy chosen where the line is made, stricter than the agent's sink-wide limit
// (src/agent/log-limit.ts: a budget per event and key fields for every record), which still applies to
// what comes out of here. Timing comes from the injected clock; the timer does not keep the process alive.

import { type Clock, systemClock, type TimerHandle } from '../clock.js';

/** Writes one line with these fields (the call site adds level and event). */
export type LimitedLine = (fields: Record<string, unknown>) => void;

interface Slot {
  fields: Record<string, unknown>;
  suppressed: number;
}

/** The key, and the `address`, of the line shared by the keys that found no room. */
export const OTHER_KEY = 'other';

export interface LimitedLogOptions {
  /** A key that repeated within an interval stays for the next one (default false: every key is forgotten). */
  carry?: boolean;
}

export class LimitedLog {
  readonly #write: LimitedLine;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #clock: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  readonly #carry: boolean;
  readonly #slots = new Map<string, Slot>();
  #timer: TimerHandle = null;

  constructor(
    write: LimitedLine,
    intervalMs: number,
    maxKeys: number,
    clock: Pick<Clock, 'setTimeout' | 'clearTimeout'> = systemClock,
    opts: LimitedLogOptions = {},
  ) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
    this.#clock = clock;
    this.#carry = opts.carry ?? false;
  }

  /** One occurrence of `key` (its fields as the line would say them). */
  note(key: string, fields: Record<string, unknown>): void {
    const k = this.#slots.has(key) || this.#slots.size < this.#maxKeys ? key : OTHER_KEY;
    const slot = this.#slots.get(k);
    if (slot) {
      slot.suppressed++;
      return;
    }
    const first = k === OTHER_KEY ? { ...fields, address: OTHER_KEY } : fields;
    this.#slots.set(k, { fields: first, suppressed: 0 });
    this.#write(first);
    this.#arm();
  }

  /**
   * Ends the interval: writes each key's suppressed count and forgets every key — with `carry`, only the
   * keys that were quiet, and a new interval starts for the others.
   */
  flush(): void {
    this.#end(this.#carry);
  }

  /** Writes what is held back and forgets every key. */
  close(): void {
    this.#end(false);
  }

  #end(carry: boolean): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const [key, slot] of this.#slots) {
      const repeated = slot.suppressed > 0;
      if (repeated) this.#write({ ...slot.fields, suppressed: slot.suppressed });
      if (carry && repeated) slot.suppressed = 0;
      else this.#slots.delete(key);
    }
    if (this.#slots.size > 0) this.#arm();
  }

  #arm(): void {
    if (this.#timer === null)
      this.#timer = this.#clock.setTimeout(() => this.flush(), this.#intervalMs, { unref: true });
  }
}
