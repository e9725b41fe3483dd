// The last few Maglev tables the agent built, by member set (ids and weights) and ring size. A table
// depends on nothing else, so both ring kinds of a service moving to the same set (a failed local
// instance leaves both) and services over the same instance ids build it once. Bounded: a table of
// 65,537 entries is 256 KiB.

import { buildMaglev, type MaglevMember, type MaglevTable } from '../steer/maglev.js';

/** Tables kept: enough for both kinds of a service and a neighbour, 1 MiB at the default ring size. */
export const TABLE_CACHE_ENTRIES = 4;

export class TableCache {
  readonly #tables = new Map<string, MaglevTable>(); // insertion order = least recently used first
  readonly #max: number;

  constructor(max = TABLE_CACHE_ENTRIES) {
    this.#max = max;
  }

  /** The table of `members`; `key` names the set (the same key must always mean the same members). */
  build(members: readonly MaglevMember[], key: string, size: number): MaglevTable {
    const k = `${size}|${key}`;
    const hit = this.#tables.get(k);
    if (hit) {
      this.#tables.delete(k);
      this.#tables.set(k, hit);
      return hit;
    }
    const table = buildMaglev(members, size);
    this.#tables.set(k, table);
    while (this.#tables.size > this.#max) this.#tables.delete(this.#tables.keys().next().value!);
    return table;
  }
}
