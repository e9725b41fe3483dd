// The last few Maglev tables the agent built, by member set (ids and weights) and ring size. A table
// depends on nothing else, so both ring kinds of a service moving to the same set (a failed local
// instance leaves both) and services over the same instance ids build it once. Bounded: a table of
// 65,537 entries is 256 KiB.

import type { MaglevTable } from '../steer/maglev.js';

/** Tables kept: enough for both kinds of a service and a neighbour, 1 MiB at the default ring size. */
export const TABLE_CACHE_ENTRIES = 4;

export class TableCache {
  readonly #tables = new Map<string, MaglevTable>(); // insertion order = least recently used first
  readonly #max: number;

  constructor(max = TABLE_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** The table kept for the set named `key` (the same key must always mean the same members), if any. */
  get(key: string, size: number): MaglevTable | undefined {
    const k = `${size}|${key}`;
    const hit = this.#tables.get(k);
    if (hit) {
      this.#tables.delete(k);
      this.#tables.set(k, hit);
    }
    return hit;
  }

  /** Keeps `table` for `key`, dropping the least recently used past the bound; returns it. */
  put(key: string, size: number, table: MaglevTable): MaglevTable {
    const k = `${size}|${key}`;
    this.#tables.delete(k);
    this.#tables.set(k, table);
    while (this.#tables.size > this.#max) this.#tables.delete(this.#tables.keys().next().value!);
    return table;
  }
}
