// Timing one lab host's VIP routes leaving (or coming back to) both ToRs' kernel FIBs, for the
// failover benchmark: one `ip -ts monitor route` per ToR for the whole run (lab/route-watch.ts)
// dates each removal by the kernel's own route event; polling `ip route` only finds the moment.
import { HOSTS, type HostName, linkBetween, TORS, type TorName, VIP4, VIP6 } from '../lab/addressing.js';
import { sleep } from '../lab/exec.js';
import { routeNexthops } from '../lab/fib.js';
import type { Family } from '../lab/peers.js';
import { RouteWatch, wallNow } from '../lab/route-watch.js';
import type { Lab } from '../lab/topology.js';

const VIP_ROUTE: Record<Family, string> = { 4: `${VIP4}/32`, 6: `${VIP6}/128` };
const VIP_ADDR: Record<Family, string> = { 4: VIP4, 6: VIP6 };
const FAMILIES: readonly Family[] = [4, 6];
const POLL_MS = 5;
const BACK_POLL_MS = 20;

/** ms per ToR and family. */
export type TorTimes = Record<TorName, Record<Family, number>>;

async function hostsAt(lab: Lab, tor: TorName, f: Family): Promise<HostName[]> {
  const devs = (await routeNexthops(lab.ns(tor), VIP_ROUTE[f])).map((n) => n.dev);
  return HOSTS.filter((h) => devs.includes(linkBetween(tor, h).a.ifname));
}

export class FailoverWatch {
  readonly #lab: Lab;
  readonly #watches: RouteWatch[];

  private constructor(lab: Lab, watches: RouteWatch[]) {
    this.#lab = lab;
    this.#watches = watches;
  }

  static async start(lab: Lab): Promise<FailoverWatch> {
    return new FailoverWatch(
      lab,
      await Promise.all(TORS.map((t) => RouteWatch.start(lab.procs, lab.ns(t), lab.dir))),
    );
  }

  /** Run `act` and time `host` leaving each ToR's FIB (both families) from the moment `act` starts. */
  async timeGone(host: HostName, act: () => Promise<void>, timeoutMs: number): Promise<TorTimes> {
    const startWall = wallNow();
    const start = performance.now();
    const acted = act();
    const one = async (i: number, f: Family): Promise<number> => {
      const tor = TORS[i]!;
      while (performance.now() - start < timeoutMs) {
        if (!(await hostsAt(this.#lab, tor, f)).includes(host)) {
          const polled = performance.now() - start;
          const e = this.#watches[i]!.lastEvent(`${VIP_ADDR[f]} `, startWall, startWall + polled);
          return e ? e.at - startWall : polled;
        }
        await sleep(POLL_MS);
      }
      throw new Error(`${host} still at ${tor} (IPv${f}) ${timeoutMs} ms after the act`);
    };
    const [a4, a6, b4, b6] = await Promise.all([one(0, 4), one(0, 6), one(1, 4), one(1, 6)]);
    await acted;
    return { [TORS[0]!]: { 4: a4, 6: a6 }, [TORS[1]!]: { 4: b4, 6: b6 } } as TorTimes;
  }

  /** Wait until every ToR's FIB has `host` for the VIP again (both families); resolves with the ms. */
  async waitBack(host: HostName, timeoutMs: number): Promise<number> {
    const start = performance.now();
    while (performance.now() - start < timeoutMs) {
      const at = await Promise.all(TORS.flatMap((t) => FAMILIES.map((f) => hostsAt(this.#lab, t, f))));
      if (at.every((hs) => hs.includes(host))) return performance.now() - start;
      await sleep(BACK_POLL_MS);
    }
    throw new Error(`${host} not back at both ToRs within ${timeoutMs} ms`);
  }

  /** Drop events seen so far (a long run would otherwise keep them all). */
  forget(): void {
    for (const w of this.#watches) w.events.length = 0;
  }

  async stop(): Promise<void> {
    await Promise.all(this.#watches.map((w) => w.stop()));
  }
}
