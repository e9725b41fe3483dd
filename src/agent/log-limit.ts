// Rate limit for the agent's log: a LogSink wrapper that passes at most `perKey` records per (event, key)
// and `perEvent` records per event in each interval, and holds the rest back, counting them. Only records
// that name a network source (an `address` or `remote` field: what a peer, a client or a flood can make us
// write) are limited; the agent's own records about its services, instances and peers are bounded by the
// config and pass untouched, so every ordered action stays in the log. The key is what a record is about:
// its address, remote, peer, service and instance fields. When the interval ends,
// each (event, key) that had records held back gets one record with `suppressed: <count>` at the highest
// level held back; past SUMMARY_KEYS such keys of one event, the others share one record with
// `suppressed`, `keys: <n>` and, for records whose key found no room in the table, `untracked: <count>`.
// Every level is limited, warn and error included: a flood is a flood.
//
// Memory is bounded whatever the records carry: the key table holds at most `maxKeys` entries and is
// emptied at every interval (a record whose key finds no room is held back and counted under its event
// only), key fields are cut to KEY_FIELD_MAX characters, and the per-event totals (the metric
// anycastd_log_records_suppressed_total) hold at most MAX_EVENTS events — events are named by the code,
// never by what was received.
//
// Time comes from the injected clock's now(); the end of an interval is noticed by the next record or by
// flush(), which a timer calls while something is held back (no timer runs otherwise, and it does not keep
// the process alive).

import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import type { Level, LogRecord, LogSink } from './log.js';
import { makeRecord } from './log.js';

/** Records passed per (event, key) and interval. */
export const LOG_PER_KEY = 5;
/** Records passed per event and interval, whatever their keys (a flood from many addresses). */
export const LOG_PER_EVENT = 1_000;
export const LOG_INTERVAL_MS = 10_000;
/** (event, key) entries kept per interval. */
export const LOG_MAX_KEYS = 4_096;
/** Keys of one event that get a summary record of their own; the rest share one. */
export const SUMMARY_KEYS = 20;
/** Characters of a key field kept (for the key and the summary). */
export const KEY_FIELD_MAX = 128;
/** Events whose totals are kept apart; further ones are summed under OTHER_EVENT. */
export const MAX_EVENTS = 256;
export const OTHER_EVENT = 'other';

/** Fields naming a network source: a record carrying one is limited. */
export const SOURCE_FIELDS = ['address', 'remote'] as const;

/** The fields that say what a record is about. */
export const KEY_FIELDS = ['address', 'remote', 'peer', 'service', 'instance'] as const;

const LEVEL_RANK: Readonly<Record<Level, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** What the limiter uses of the agent's clock. */
type LimiterClock = Pick<Clock, 'now' | 'setTimeout' | 'clearTimeout'>;

export interface LogLimitOptions {
  perKey?: number;
  perEvent?: number;
  intervalMs?: number;
  maxKeys?: number;
  clock?: LimiterClock;
}

interface Held {
  /** Records held back. */
  count: number;
  level: Level;
}

interface KeyEntry {
  event: string;
  fields: Record<string, string>;
  passed: number;
  held: Held | null;
}

interface EventEntry {
  passed: number;
  /** Held back with no room in the key table. */
  keyless: Held | null;
}

export class LogLimiter {
  /** The limited sink: give this to every part. */
  readonly sink: LogSink;
  readonly #inner: LogSink;
  readonly #perKey: number;
  readonly #perEvent: number;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #clock: LimiterClock;
  readonly #keys = new Map<string, KeyEntry>();
  readonly #events = new Map<string, EventEntry>();
  readonly #totals = new Map<string, number>();
  #windowStart: number;
  #timer: TimerHandle = null;

  constructor(inner: LogSink, opts: LogLimitOptions = {}) {
    this.#inner = inner;
    this.#perKey = opts.perKey ?? LOG_PER_KEY;
    this.#perEvent = opts.perEvent ?? LOG_PER_EVENT;
    this.#intervalMs = opts.intervalMs ?? LOG_INTERVAL_MS;
    this.#maxKeys = opts.maxKeys ?? LOG_MAX_KEYS;
    this.#clock = opts.clock ?? systemClock;
    this.#windowStart = this.#clock.now();
    this.sink = (record) => this.#admit(record);
  }

  /** Records held back since start, by event (monotonic; the metric reads it). */
  get suppressed(): ReadonlyMap<string, number> {
    return this.#totals;
  }

  /** (Event, key) pairs tracked in this interval: at most maxKeys, whatever the flood. */
  get trackedKeys(): number {
    return this.#keys.size;
  }

  /** Ends the interval if it is over: writes the summaries of what was held back. */
  flush(): void {
    if (this.#clock.now() - this.#windowStart >= this.#intervalMs) this.#roll();
  }

  /** Writes the summaries now and stops the timer (on the way out). */
  close(): void {
    this.#roll();
    this.#disarm();
  }

  #admit(record: LogRecord): void {
    this.flush();
    if (!SOURCE_FIELDS.some((f) => record[f] !== undefined)) {
      this.#inner(record);
      return;
    }
    const event = this.#eventEntry(record.event);
    const fields = keyFields(record);
    const id = `${record.event}\0${JSON.stringify(fields)}`;
    let entry = this.#keys.get(id);
    if (entry === undefined && this.#keys.size < this.#maxKeys) {
      entry = { event: record.event, fields, passed: 0, held: null };
      this.#keys.set(id, entry);
    }
    if (entry !== undefined && entry.passed < this.#perKey && event.passed < this.#perEvent) {
      entry.passed++;
      event.passed++;
      this.#inner(record);
      return;
    }
    if (entry !== undefined) entry.held = hold(entry.held, record.level);
    else event.keyless = hold(event.keyless, record.level);
    const total =
      this.#totals.has(record.event) || this.#totals.size < MAX_EVENTS ? record.event : OTHER_EVENT;
    this.#totals.set(total, (this.#totals.get(total) ?? 0) + 1);
    this.#arm();
  }

  #eventEntry(name: string): EventEntry {
    let e = this.#events.get(name);
    if (e === undefined) {
      e = { passed: 0, keyless: null };
      this.#events.set(name, e);
    }
    return e;
  }

  /** Writes one summary per (event, key) held back (SUMMARY_KEYS per event, the rest shared), starts anew. */
  #roll(): void {
    const rest = new Map<string, { held: Held; keys: number }>();
    const shown = new Map<string, number>();
    for (const e of this.#keys.values()) {
      if (e.held === null) continue;
      const n = shown.get(e.event) ?? 0;
      if (n < SUMMARY_KEYS) {
        shown.set(e.event, n + 1);
        this.#inner(makeRecord(e.held.level, e.event, { ...e.fields, suppressed: e.held.count }));
        continue;
      }
      const r = rest.get(e.event);
      rest.set(e.event, { held: merge(r?.held ?? null, e.held), keys: (r?.keys ?? 0) + 1 });
    }
    for (const [event, e] of this.#events) {
      const r = rest.get(event);
      if (r === undefined && e.keyless === null) continue;
      const held = e.keyless === null ? r!.held : merge(r?.held ?? null, e.keyless);
      this.#inner(
        makeRecord(held.level, event, {
          suppressed: held.count,
          keys: r?.keys ?? 0,
          ...(e.keyless === null ? {} : { untracked: e.keyless.count }),
        }),
      );
    }
    this.#keys.clear();
    this.#events.clear();
    this.#windowStart = this.#clock.now();
  }

  #arm(): void {
    if (this.#timer !== null) return;
    const due = this.#windowStart + this.#intervalMs - this.#clock.now();
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = null;
        this.flush();
        if (this.#holding()) this.#arm();
      },
      Math.max(0, due),
      { unref: true },
    );
  }

  #disarm(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #holding(): boolean {
    for (const e of this.#keys.values()) if (e.held !== null) return true;
    for (const e of this.#events.values()) if (e.keyless !== null) return true;
    return false;
  }
}

/** The record's key fields (strings, numbers, booleans), each cut to KEY_FIELD_MAX characters. */
function keyFields(record: LogRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEY_FIELDS) {
    const v = record[name];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[name] = String(v).slice(0, KEY_FIELD_MAX);
  }
  return out;
}

function hold(held: Held | null, level: Level): Held {
  return merge(held, { count: 1, level });
}

function merge(a: Held | null, b: Held): Held {
  if (a === null) return { ...b };
  return { count: a.count + b.count, level: LEVEL_RANK[b.level] > LEVEL_RANK[a.level] ? b.level : a.level };
}
