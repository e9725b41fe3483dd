// Flap dampening after RFC 2439 (BGP route flap damping), applied to a health check: each up→down flap
// adds a penalty that decays exponentially with a half-life; above the suppress threshold the instance is
// held down even when healthy, until the penalty decays below the reuse threshold. The penalty is capped
// at reuse × 2^(maxHoldDown / halfLife) (RFC 2439 §4.8's ceiling), which bounds the hold-down to
// maxHoldDown after the last flap. Pure: time is passed in.

import type { DampeningConfig } from '../config/types.js';

export class Dampening {
  readonly #cfg: DampeningConfig;
  readonly #ceiling: number;
  #penalty = 0;
  #at = 0;
  #suppressed = false;

  constructor(cfg: DampeningConfig) {
    this.#cfg = cfg;
    this.#ceiling = cfg.reuse * 2 ** (cfg.maxHoldDownMs / cfg.halfLifeMs);
  }

  /** The decayed penalty at `now`. */
  penalty(now: number): number {
    return this.#penalty * 2 ** (-(now - this.#at) / this.#cfg.halfLifeMs);
  }

  /** Records a flap; returns whether the instance is now suppressed. */
  flap(now: number): boolean {
    this.#penalty = Math.min(this.penalty(now) + this.#cfg.penalty, this.#ceiling);
    this.#at = now;
    if (this.#penalty > this.#cfg.suppress) this.#suppressed = true;
    return this.#suppressed;
  }

  /** Whether the instance is suppressed at `now` (updates the state when the penalty fell below reuse). */
  suppressed(now: number): boolean {
    if (this.#suppressed && this.penalty(now) < this.#cfg.reuse) this.#suppressed = false;
    return this.#suppressed;
  }

  /** When the penalty will fall below the reuse threshold (now if it already has). */
  releaseAt(now: number): number {
    const p = this.penalty(now);
    if (p < this.#cfg.reuse) return now;
    // p · 2^(-Δ/h) = reuse  ⇒  Δ = h · log2(p / reuse); +1 ms so that the penalty is strictly below.
    return now + Math.ceil(this.#cfg.halfLifeMs * Math.log2(p / this.#cfg.reuse)) + 1;
  }
}
