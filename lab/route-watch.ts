// Timestamps of kernel route changes in a namespace, for timing withdrawals to the millisecond:
// `ip -ts monitor route` prints every RTM_NEWROUTE/RTM_DELROUTE as it arrives, stamped with the
// wall clock (µs) by the `ip` process itself, so a change's time does not depend on how often the
// lab polls. A multipath route is one event (its nexthop lines follow, unstamped).

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runIn, waitFor } from './exec.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

/** A route that is never used otherwise, added and deleted once to prove the monitor listens. */
const PROBE_ROUTE = '192.0.2.255/32';
/** Until the monitor is seen listening: `ip` started in a namespace can take seconds on a loaded box. */
const READY_TIMEOUT_MS = 20_000;
/** "[2026-11-22T02:53:50.567082] 203.0.113.10 nhid 35 proto bgp metric 20" */
const STAMPED_LINE = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+)\] (.*)$/;

export interface RouteEvent {
  /** Wall clock, ms since the epoch (fractional). */
  at: number;
  /** The event's first line, without the timestamp ("Deleted 203.0.113.10 ...", "203.0.113.10 nhid ..."). */
  line: string;
}

/** Wall clock in ms with sub-ms precision, comparable with RouteEvent.at. */
export function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function parseStamp(stamp: string): number {
  // ip prints local time; the watcher runs it with TZ=UTC. Date keeps ms; add the µs fraction.
  const [whole, frac = '0'] = stamp.split('.');
  return Date.parse(`${whole}Z`) + Number(`0.${frac}`) * 1000;
}

export class RouteWatch {
  readonly events: RouteEvent[] = [];
  readonly #proc: LabProcess;
  readonly #procs: ProcessRegistry;

  private constructor(procs: ProcessRegistry, proc: LabProcess) {
    this.#procs = procs;
    this.#proc = proc;
    const rl = createInterface({ input: proc.child.stdout! });
    rl.on('line', (l) => {
      const m = STAMPED_LINE.exec(l);
      if (m) this.events.push({ at: parseStamp(m[1]!), line: m[2]! });
    });
  }

  /** Start watching `ns` (both families); resolves once the monitor has seen a probe route change. */
  static async start(procs: ProcessRegistry, ns: string, dir: string): Promise<RouteWatch> {
    const args = ['-ts', 'monitor', 'route'];
    const proc = procs.start(`route watch ${ns}`, ns, 'ip', args, join(dir, 'route-watch.err'), {
      pipeStdout: true,
      env: { TZ: 'UTC' },
    });
    const watch = new RouteWatch(procs, proc);
    await waitFor(
      `route monitor in ${ns}`,
      async () => {
        runIn(ns, 'ip', ['route', 'replace', 'blackhole', PROBE_ROUTE]);
        runIn(ns, 'ip', ['route', 'del', 'blackhole', PROBE_ROUTE]);
        return watch.events.some((e) => e.line.startsWith('Deleted blackhole 192.0.2.255'))
          ? true
          : undefined;
      },
      READY_TIMEOUT_MS,
      20,
    );
    return watch;
  }

  /** The last event mentioning `needle` in [from, to] (wall ms), or undefined. */
  lastEvent(needle: string, from: number, to: number): RouteEvent | undefined {
    let last: RouteEvent | undefined;
    for (const e of this.events) if (e.at >= from && e.at <= to && e.line.includes(needle)) last = e;
    return last;
  }

  stop(): Promise<void> {
    return this.#procs.stop(this.#proc);
  }
}
