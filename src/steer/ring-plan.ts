// Which instances belong in each ring of a service (issue 8), as a pure function of what was observed
// and when, so every host computes the same rings from the same observations:
//  - up: in `new` at once; in `established` once it has been up for the grace time (an instance that
//    was up before observation began counts as established at once: it may hold connections already);
//  - draining: out of `new` at once; in `established` until the drain time is over, or sooner when its
//    connection count (if the observation has one) reaches 0;
//  - down (failed): out of both at once — nothing can be kept on a dead instance.
// An established ring with no member while `new` has some would drop every non-SYN miss, so then it is
// `new`'s members (nothing is held on an instance that was never in `established`).
// The plan also says when the next time-driven change falls due, for the caller's timer.

export type MemberState = 'up' | 'draining' | 'down';

export interface MemberObservation {
  readonly id: string;
  readonly state: MemberState;
  /** When the instance entered `state` (ms, the caller's clock). */
  readonly since: number;
  /** Its client connections when draining, if known (null/undefined: unknown, wait the drain time). */
  readonly connections?: number | null;
}

export interface RingTiming {
  readonly drainMs: number;
  readonly graceMs: number;
  /** When observation began: an instance up since then (or before) is established at once. */
  readonly startedAt: number;
}

export interface RingPlan {
  readonly new: string[];
  readonly established: string[];
  /** When a member moves next by time alone (ms), or null when nothing is pending. */
  readonly nextChangeAt: number | null;
}

const byId = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function planRings(obs: readonly MemberObservation[], now: number, t: RingTiming): RingPlan {
  const fresh: string[] = [];
  const established: string[] = [];
  const pending: number[] = [];
  for (const o of obs) {
    if (o.state === 'up') {
      fresh.push(o.id);
      const due = o.since <= t.startedAt ? -Infinity : o.since + t.graceMs;
      if (now >= due) established.push(o.id);
      else pending.push(due);
    } else if (o.state === 'draining') {
      const due = o.since + t.drainMs;
      if (now < due && o.connections !== 0) {
        established.push(o.id);
        pending.push(due);
      }
    }
  }
  fresh.sort(byId);
  established.sort(byId);
  return {
    new: fresh,
    established: established.length > 0 || fresh.length === 0 ? established : [...fresh],
    nextChangeAt: pending.length > 0 ? Math.min(...pending) : null,
  };
}
