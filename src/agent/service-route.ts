// What one service shows the network: the state of its VIPs' routes (advertised, worsened per its
// on_down policy, or withdrawn) as told to the RouteAnnouncer, the wait until every peer was sent a
// change, and which of its VIPs are on lo. Each change is one log line (VIPs put on or taken off lo
// together: one line naming them); a repeated one does nothing.
// When to change what is decided in service-agent.ts.

import type { RouteAnnouncer } from '../bgp/announcer.js';
import type { Clock } from '../clock.js';
import type { OnDownConfig, ServiceConfig } from '../config/types.js';
import type { HostAddresses } from '../host/lo-addresses.js';
import type { Level } from './log.js';
import { hostPrefix, worseAttributes } from './routes.js';
import type { RouteState } from './status.js';

/** Flush durations are logged in ms with this many decimals. */
const FLUSH_MS_DECIMALS = 3;

export interface ServiceRouteDeps {
  announcer: RouteAnnouncer;
  host: HostAddresses;
  clock: Clock;
  /** Bound on waiting for a change to reach the peers. */
  flushTimeoutMs: number;
  log: (level: Level, event: string, fields: Record<string, unknown>) => void;
}

export class ServiceRoute {
  readonly #deps: ServiceRouteDeps;
  #state: RouteState = 'withdrawn';
  readonly #onLo = new Set<string>();

  constructor(deps: ServiceRouteDeps) {
    this.#deps = deps;
  }

  get state(): RouteState {
    return this.#state;
  }

  get vipsOnLo(): string[] {
    return [...this.#onLo].sort();
  }

  /** Advertises `vips` with plain attributes (from withdrawn, or back from worsened). */
  advertise(vips: readonly string[], reason: string): void {
    if (this.#state === 'advertised') return;
    for (const vip of vips) this.#deps.announcer.advertise(hostPrefix(vip));
    this.#deps.log('info', 'route-advertised', { reason, from: this.#state, vips });
    this.#state = 'advertised';
  }

  /** Re-advertises advertised `vips` with the worse attributes of `onDown`; false if there are none (or not advertised). */
  worsen(vips: readonly string[], onDown: OnDownConfig, reason: string): boolean {
    const worse = worseAttributes(onDown);
    if (this.#state !== 'advertised' || !worse) return false;
    for (const vip of vips) this.#deps.announcer.advertise(hostPrefix(vip), worse);
    this.#state = 'worsened';
    this.#deps.log('info', 'route-worsened', { reason, action: onDown.action, delayMs: onDown.delayMs });
    return true;
  }

  withdraw(vips: readonly string[], reason: string): void {
    if (this.#state === 'withdrawn') return;
    for (const vip of vips) this.#deps.announcer.withdraw(hostPrefix(vip));
    this.#deps.log('info', 'route-withdrawn', { reason, from: this.#state, vips });
    this.#state = 'withdrawn';
  }

  /** Waits (bounded) until every peer was sent the changes made so far; logs how long it took. */
  async flushed(reason: string): Promise<void> {
    const started = this.#deps.clock.now();
    const ok = await this.#deps.announcer.flushed(this.#deps.flushTimeoutMs);
    const scale = 10 ** FLUSH_MS_DECIMALS;
    const ms = Math.round((this.#deps.clock.now() - started) * scale) / scale;
    this.#deps.log(ok ? 'info' : 'warn', ok ? 'withdrawal-flushed' : 'withdrawal-flush-timeout', {
      reason,
      ms,
    });
  }

  /** Reload: VIPs added to a running service go onto lo (if it is up or they never leave it) and out
   * with the route's current attributes. */
  addVips(before: ServiceConfig, next: ServiceConfig): void {
    const added = next.vips.filter((v) => !before.vips.includes(v));
    if (this.#state !== 'withdrawn' || !next.vipLeavesLoWhenDown) this.vipsOn(next.vips, 'vip-added');
    if (added.length === 0 || this.#state === 'withdrawn') return;
    const attrs = this.#state === 'worsened' ? worseAttributes(next.onDown) : null;
    for (const vip of added) this.#deps.announcer.advertise(hostPrefix(vip), attrs ?? undefined);
    this.#deps.log('info', 'route-advertised', { reason: 'vip-added', vips: added });
  }

  /** Reload: VIPs leaving the service are withdrawn, told to the peers, then taken off lo. */
  async removeVips(gone: readonly string[]): Promise<void> {
    if (this.#state !== 'withdrawn') {
      for (const vip of gone) this.#deps.announcer.withdraw(hostPrefix(vip));
      this.#deps.log('info', 'route-withdrawn', { reason: 'vip-removed', vips: gone });
      await this.flushed('vip-removed');
    }
    this.vipsOff(gone, 'vip-removed');
  }

  /**
   * Puts `vips` on lo (those there already stay; they count as this service's from now on, so they
   * leave with it); one line names those added. A VIP the kernel refused fails the call, named.
   */
  vipsOn(vips: readonly string[], reason: string): void {
    this.claim(vips);
    const added = this.#deps.host.addMany(vips);
    if (added.length > 0) this.#deps.log('info', 'vip-added', { reason, vips: added });
  }

  /** VIPs put on lo for this service by the agent's start (every service's in one go, logged there). */
  claim(vips: readonly string[]): void {
    for (const vip of vips) this.#onLo.add(vip);
  }

  /** Takes `vips` off lo; one line names those removed. */
  vipsOff(vips: readonly string[], reason: string): void {
    const removed = vips.filter((vip) => this.#deps.host.remove(vip));
    for (const vip of vips) this.#onLo.delete(vip);
    if (removed.length > 0) this.#deps.log('info', 'vip-removed', { reason, vips: removed });
  }

  /** Every VIP this service put on lo, off it. */
  allVipsOff(reason: string): void {
    this.vipsOff([...this.#onLo], reason);
  }
}
