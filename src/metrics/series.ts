// Label-set bookkeeping over prom-client metrics: every labelled series exists from the start at 0
// (sync() zeroes new label sets and removes vanished ones after a reload, leaving the others alone),
// and counters that mirror a monotonic value held elsewhere (the kernel's per-CPU counters, the
// speaker's message counts) are advanced by the difference, with a reset when the source restarts.
import type { Counter, Gauge, Histogram } from 'prom-client';

export type Labels<L extends string> = Record<L, string>;
type AnyMetric<L extends string> = Counter<L> | Gauge<L> | Histogram<L>;

/** Separates names and values in a key: a character no label name or value of ours contains. */
const KEY_SEP = '\u0000';

/** One string per label set, whatever the order its names were written in. */
const keyOf = (labels: Record<string, string>): string => {
  const names = Object.keys(labels).sort();
  let key = '';
  for (const n of names) key += `${n}${KEY_SEP}${labels[n]}${KEY_SEP}`;
  return key;
};

/** The label sets a metric currently has; sync() makes them exactly `sets`. */
export class SeriesSet<L extends string> {
  readonly #metric: AnyMetric<L>;
  readonly #zero: (labels: Labels<L>) => void;
  #sets = new Map<string, Labels<L>>();

  constructor(metric: AnyMetric<L>, zero: (labels: Labels<L>) => void) {
    this.#metric = metric;
    this.#zero = zero;
  }

  static counter<L extends string>(m: Counter<L>): SeriesSet<L> {
    return new SeriesSet(m, (l) => m.inc(l, 0));
  }
  static gauge<L extends string>(m: Gauge<L>): SeriesSet<L> {
    return new SeriesSet(m, (l) => m.set(l, 0));
  }
  static histogram<L extends string>(m: Histogram<L>): SeriesSet<L> {
    return new SeriesSet(m, (l) => m.zero(l));
  }

  sync(sets: readonly Labels<L>[]): void {
    const next = new Map(sets.map((s) => [keyOf(s), s]));
    for (const [k, labels] of this.#sets) if (!next.has(k)) this.#metric.remove(labels);
    for (const [k, labels] of next) if (!this.#sets.has(k)) this.#zero(labels);
    this.#sets = next;
  }

  has(labels: Labels<L>): boolean {
    return this.#sets.has(keyOf(labels));
  }
}

/** A counter that follows a monotonic source value (bigint from the kernel or number). */
export class MirroredCounter<L extends string> {
  readonly series: SeriesSet<L>;
  readonly #counter: Counter<L>;
  readonly #last = new Map<string, number>();

  constructor(counter: Counter<L>) {
    this.#counter = counter;
    this.series = SeriesSet.counter(counter);
  }

  /** Sets the series to `value`: adds the increase, or starts again from `value` if the source reset. */
  set(labels: Labels<L>, value: number | bigint): void {
    const v = Number(value);
    const k = keyOf(labels);
    const last = this.#last.get(k) ?? 0;
    if (v < last) {
      this.#counter.remove(labels);
      this.#counter.inc(labels, v);
    } else if (v > last) this.#counter.inc(labels, v - last);
    this.#last.set(k, v);
  }

  sync(sets: readonly Labels<L>[]): void {
    this.series.sync(sets);
    const live = new Set(sets.map(keyOf));
    for (const k of this.#last.keys()) if (!live.has(k)) this.#last.delete(k);
  }
}

/** Sets a state-set gauge: 1 on `current`, 0 on every other value of `label`. */
export function setStateSet<L extends string>(
  g: Gauge<L>,
  base: Partial<Labels<L>>,
  label: L,
  values: readonly string[],
  current: string,
): void {
  for (const v of values) g.set({ ...base, [label]: v } as Labels<L>, v === current ? 1 : 0);
}
