// The join grace of the `established` ring: an instance that joins a service's established
// ring after that ring was first written waits the grace time before it is written into it, so a
// non-SYN packet of an older connection that misses the flow table still finds the instance that holds
// it (had it joined both rings at once, both rings would name the newcomer and the second chance would
// have nowhere else to go). The first write of a service admits everyone (they may hold connections
// already), except `newcomer`: a host starting with no pinned maps of its own is joining a cluster whose
// other hosts hold it out of their established rings for the grace time, so it holds itself out of its
// own too (a restart that adopted its maps passes no newcomer: it was a member — but only if the agent
// that left them beat within RESTART_WINDOW_MS; older pins are a host coming back after an absence, out
// of every other host's rings, whose flow table is stale too). Leaving is never delayed
// here (drain timing is the caller's), and an established ring is never left empty while instances are
// wanted in it.

/**
 * Adopted pins whose agent beat this recently (ms) are a restart: a service manager's restart or an
 * upgrade takes seconds. Longer away, flows have moved on (the lab's h4, removed and added back ~30 s
 * later, broke 74 of 1,000 held connections by admitting itself at once).
 */
export const RESTART_WINDOW_MS = 10_000;

/** Were pins of this age (Dataplane.pinsAgeMs; null: no heartbeat in them) left by a restarting agent? */
export function isRestart(pinsAgeMs: number | null): boolean {
  return pinsAgeMs !== null && pinsAgeMs <= RESTART_WINDOW_MS;
}

export interface Admitted {
  /** The members to write now. */
  readonly members: string[];
  /** When the next held instance falls due (ms, the caller's clock), or null. */
  readonly nextDue: number | null;
}

export class JoinGrace {
  readonly #written = new Map<string, Set<string>>(); // service → established members last admitted
  readonly #due = new Map<string, Map<string, number>>(); // service → held instance → when it may join

  /** Of the `wanted` established members of `service`, those to write at `now`. */
  admit(
    service: string,
    wanted: readonly string[],
    graceMs: number,
    now: number,
    newcomer?: string,
  ): Admitted {
    const prev = this.#written.get(service);
    const due = this.#due.get(service) ?? new Map<string, number>();
    if (!prev && newcomer !== undefined && wanted.includes(newcomer) && graceMs > 0)
      due.set(newcomer, now + graceMs);
    for (const id of wanted)
      if (prev && !prev.has(id) && !due.has(id) && graceMs > 0) due.set(id, now + graceMs);
    for (const [id, at] of due) if (at <= now || !wanted.includes(id)) due.delete(id);
    let members = wanted.filter((id) => !due.has(id));
    if (members.length === 0) {
      members = [...wanted];
      due.clear();
    }
    this.#written.set(service, new Set(members));
    this.#due.set(service, due);
    return { members, nextDue: due.size > 0 ? Math.min(...due.values()) : null };
  }

  /** Drops what is known of a removed service. */
  forget(service: string): void {
    this.#written.delete(service);
    this.#due.delete(service);
  }
}
