// The source address a probe's socket binds: the target itself when the target is an address of this
// host (the source the kernel would pick for it anyway: RFC 6724 rule 1, prefer the same address).
// Unbound, the kernel selects an IPv6 source per connect by scoring every address of the host: with
// thousands of VIPs on lo that is ~0.8 ms of kernel time per probe (measured with 10,000 addresses on lo:
// 0.78 ms unbound, 0.04 ms bound), which at start — every check of every service at once — held the
// loop for seconds. A target that is not ours refuses the bind (EADDRNOTAVAIL, no packet sent): that
// probe goes on unbound at once (towards another host the kernel takes the default route's preferred
// source, set by the agent, without a scan), and the target is tried bound again only after
// SOURCE_RECHECK_MS, so an address that moves onto this host later is found.

import { type Clock, systemClock } from '../clock.js';

/** How long a target that refused the bind is probed unbound before binding is tried again. */
export const SOURCE_RECHECK_MS = 60_000;
const BIND_REFUSED = 'EADDRNOTAVAIL';

export class ProbeSource {
  readonly #target: string;
  readonly #clock: Clock;
  #unboundUntil = Number.NEGATIVE_INFINITY;

  constructor(target: string, clock: Clock = systemClock) {
    this.#target = target;
    this.#clock = clock;
  }

  /** The address to bind the next probe's socket to; undefined: leave it to the kernel. */
  get bind(): string | undefined {
    return this.#clock.now() >= this.#unboundUntil ? this.#target : undefined;
  }

  /** True (and remembered for SOURCE_RECHECK_MS) when `err` is the kernel refusing to bind the target. */
  refused(err: unknown): boolean {
    const e = err as NodeJS.ErrnoException | null;
    if (e?.code !== BIND_REFUSED || e.syscall !== 'bind') return false;
    this.#unboundUntil = this.#clock.now() + SOURCE_RECHECK_MS;
    return true;
  }
}
