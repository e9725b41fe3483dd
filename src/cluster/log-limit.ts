// Repeated log lines of the cluster channel (a refused source, a peer's ignored entries) at most once per
// key per interval: the first occurrence is written at once, the rest are counted and written as one line
// with `suppressed: n` when the interval ends. At most `maxKeys` keys are kept per interval; further keys
// share one line (key `other`), so a flood from many addresses is a bounded number of lines and entries.

/** The agent's log as the cluster writes to it (src/agent/log.ts makes the records). */
export type ClusterLog = (
  level: 'info' | 'warn' | 'error',
  event: string,
  fields: Record<string, unknown>,
) => void;

export type LimitedLine = (fields: Record<string, unknown>) => void;

interface Slot {
  fields: Record<string, unknown>;
  suppressed: number;
}

export const OTHER_KEY = 'other';

export class LimitedLog {
  readonly #write: LimitedLine;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #slots = new Map<string, Slot>();
  #timer: NodeJS.Timeout | null = null;

  constructor(write: LimitedLine, intervalMs: number, maxKeys: number) {
    this.#write = write;
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
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
    if (!this.#timer) {
      this.#timer = setInterval(() => this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Ends the interval: writes each key's suppressed count, forgets every key. */
  flush(): void {
    for (const slot of this.#slots.values())
      if (slot.suppressed > 0) this.#write({ ...slot.fields, suppressed: slot.suppressed });
    this.#slots.clear();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  close(): void {
    this.flush();
  }
}
