// One service as the agent drives it: the single place where its health transitions become ordered
// actions on lo, the rings and BGP. It reconciles toward what health asks for, one step at a time and
// never two runs at once, re-reading the wish after every wait (a service that recovers during the
// worsen delay is advertised again, not withdrawn):
//   up:    VIPs onto lo → local instance into both rings → advertise
//   down:  the first route step (worsen by MED / prepend / GRACEFUL_SHUTDOWN per on_down, or withdraw)
//          → wait until every peer was sent it → local instance out of both rings (and marked failed, so
//          its flows re-steer: nothing can be kept on a dead instance, and packets still arriving here
//          while the route converges go to healthy instances, not to a dead socket) → if worsened: wait
//          its delay → withdraw → wait until sent → VIPs off lo (if vip_leaves_lo_when_down).
//          The route goes first because the ring write (two 65537-entry rings) takes tens of ms.
//   drain: the same route steps → out of the `new` ring → after drain_time, or once no client
//          connection is left, out of the `established` ring → VIPs off lo (if configured; never
//          before, its flows still need the VIP)
// Remote instances change the rings at once (no route of ours depends on them); what a remote instance's
// own agent reports (src/cluster/) can only take it out: a drained one leaves `new` and later
// `established` when its agent's rings do, a failed one is marked failed at once. This host reports its
// local instance the same way once settled: its health and whether its rings hold it. Until the first round of
// checks has settled — the local instance judged and every remote one up — or grace_time passed, nothing
// is done: a restarting host never advertises a dead service, nor a ring lacking instances it cannot
// reach yet; after a reload that rebuilt the checks, the running state is held the same way.

import type { ClusterPort } from '../cluster/cluster.js';
import type { ServiceChange } from '../config/diff.js';
import type { ServiceConfig } from '../config/types.js';
import type { InstanceTransition } from '../health/instance-health.js';
import type { HostAddresses } from '../host/lo-addresses.js';
import { type DrainEnd, DrainWait } from './drain-wait.js';
import type { Level } from './log.js';
import type { ConnectionCounter, HealthFactory, HealthPort, SteeringPort } from './parts.js';
import type { RouteAnnouncer } from './ports.js';
import { hostPrefix, worseAttributes } from './routes.js';
import { ServiceRings } from './service-rings.js';
import type { RouteState, ServiceStatus } from './status.js';

type Wish = 'hold' | 'up' | 'down' | 'drain' | 'stop';
const RETRY_MS = 1000;

export interface ServiceAgentDeps {
  announcer: RouteAnnouncer;
  host: HostAddresses;
  steering: SteeringPort;
  health: HealthFactory;
  /** Counts the local instance's client connections, so a drain can end when none is left. */
  connections?: ConnectionCounter;
  log: (level: Level, event: string, fields: Record<string, unknown>) => void;
  /** The other agents' reports and ours (absent: our own checks only). */
  cluster?: ClusterPort;
  /** Bound on waiting for a withdrawal to reach the peers. */
  flushTimeoutMs: number;
  /** Called once when the first round of checks has settled. */
  onSettled: () => void;
}

export class ServiceAgent {
  config: ServiceConfig;
  #health: HealthPort;
  readonly #d: ServiceAgentDeps;
  #route: RouteState = 'withdrawn';
  #settled = false;
  #stopping = false;
  readonly #onLo = new Set<string>();
  readonly #rings: ServiceRings;
  readonly #transitions = new Map<string, number>();
  #reason = 'start';
  #running: Promise<void> | null = null;
  #dirty = false;
  #wait: { wish: Wish; done: (completed: boolean) => void } | null = null;
  #graceTimer: NodeJS.Timeout | null = null;
  readonly #drain = new DrainWait();
  #retryTimer: NodeJS.Timeout | null = null;

  constructor(config: ServiceConfig, deps: ServiceAgentDeps) {
    this.config = config;
    this.#d = deps;
    this.#rings = new ServiceRings(deps.steering, (event, fields) => this.#log('info', event, fields));
    this.#health = deps.health(config, (t) => this.#onTransition(t));
  }

  get name(): string {
    return this.config.name;
  }

  get settled(): boolean {
    return this.#settled;
  }

  get route(): RouteState {
    return this.#route;
  }

  start(): void {
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = setTimeout(() => this.#settle('grace-time'), this.config.graceTimeMs);
    this.#graceTimer.unref();
    this.#health.start();
    this.#checkSettled();
  }

  setDrainFlag(drained: boolean): void {
    this.#health.setDrainFlag(drained);
  }

  /** Resolves when no step is running (a step started meanwhile is waited for too). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** SIGTERM: stop the checks and withdraw (no worsening); the caller waits for the peers once for all. */
  async shutdown(reason: string): Promise<void> {
    this.#stopping = true;
    this.#clearTimers();
    this.#health.stop();
    this.#interrupt();
    await this.idle();
    this.#withdraw(reason);
  }

  /** The service left the config: withdraw, wait for the peers, empty its rings, VIPs off lo. */
  async retire(): Promise<void> {
    await this.shutdown('service-removed');
    this.#d.cluster?.publish(this.name, this.config.localInstanceId, null);
    await this.#flush('service-removed');
    this.#d.steering.removeService(this.name);
    for (const vip of [...this.#onLo]) this.#vipOff(vip, 'service-removed');
  }

  /** Reload, first half: VIPs that leave the service are withdrawn, told to the peers, taken off lo
   * (before the data plane's VIP table drops them, so packets still arriving are steered meanwhile). */
  async dropVips(next: ServiceConfig): Promise<void> {
    const gone = this.config.vips.filter((v) => !next.vips.includes(v));
    if (gone.length === 0) return;
    if (this.#route !== 'withdrawn') {
      for (const vip of gone) this.#d.announcer.withdraw(hostPrefix(vip));
      this.#log('info', 'route-withdrawn', { reason: 'vip-removed', vips: gone });
      await this.#flush('vip-removed');
    }
    for (const vip of gone) this.#vipOff(vip, 'vip-removed');
  }

  /** Reload, second half (after the VIP table has the new VIPs): apply only what changed. */
  update(next: ServiceConfig, change: ServiceChange): void {
    const before = this.config;
    this.config = next;
    const added = next.vips.filter((v) => !before.vips.includes(v));
    // On lo: every VIP of a service that is up, or whose VIPs never leave lo (idempotent for the others).
    if (this.#route !== 'withdrawn' || !next.vipLeavesLoWhenDown)
      for (const vip of next.vips) this.#vipOn(vip, 'vip-added');
    if (added.length > 0 && this.#route !== 'withdrawn') {
      const attrs = this.#route === 'worsened' ? worseAttributes(next.onDown) : null;
      for (const vip of added) this.#d.announcer.advertise(hostPrefix(vip), attrs ?? undefined);
      this.#log('info', 'route-advertised', { reason: 'vip-added', vips: added });
    }
    if (change.checksChanged || change.fields.includes('instances')) {
      // New checkers start unknown: hold the running route and rings until they settle again.
      this.#health.stop();
      this.#settled = false;
      this.#health = this.#d.health(next, (t) => this.#onTransition(t));
      this.#log('info', 'checks-restarted', { reason: 'config-changed', fields: change.fields });
      this.start();
    }
    this.#kick();
  }

  /** A remote instance's agent changed what it says of it: rewrite the rings (once settled). */
  reportChanged(instance: string): void {
    if (!this.#settled || this.#stopping || instance === this.config.localInstanceId) return;
    this.#writeRings('peer-report');
  }

  status(): ServiceStatus {
    const states = this.#health.states();
    return {
      name: this.name,
      settled: this.#settled,
      route: this.#route,
      vipAnnounced: this.#route !== 'withdrawn',
      vipsOnLo: [...this.#onLo].sort(),
      drained: states.get(this.config.localInstanceId) === 'drained',
      instances: this.config.instances.map((i) => ({
        id: i.id,
        local: i.id === this.config.localInstanceId,
        state: states.get(i.id) ?? 'unknown',
        inNew: this.#rings.members('new').includes(i.id),
        inEstablished: this.#rings.members('established').includes(i.id),
        reported: this.#d.cluster?.reported(this.name, i.id) ?? null,
        checks: this.#health.checks(i.id),
      })),
      rings: this.#d.steering.shares(this.name),
      transitions: Object.fromEntries(this.#transitions),
    };
  }

  /** VIPs go on lo from the start when they never leave it; the service may need them to bind. */
  placeStaticVips(): void {
    if (!this.config.vipLeavesLoWhenDown) for (const vip of this.config.vips) this.#vipOn(vip, 'configured');
  }

  #onTransition(t: InstanceTransition): void {
    if (this.#stopping) return;
    this.#transitions.set(t.reason, (this.#transitions.get(t.reason) ?? 0) + 1);
    this.#log(t.to === 'down' ? 'warn' : 'info', 'health-transition', {
      reason: t.reason,
      instance: t.instance,
      local: t.local,
      from: t.from,
      to: t.to,
      check: t.check,
      detail: t.detail,
    });
    if (t.from === t.to) return; // a dampening hold: nothing changes
    if (t.local) {
      this.#reason = t.reason;
      this.#publish();
    }
    if (!this.#settled) {
      this.#checkSettled();
      return;
    }
    if (!t.local) this.#writeRings(t.reason);
    this.#kick();
  }

  /**
   * Settled by the checks once the local instance has a state and every remote instance is up. A remote
   * instance seen down at start may only be unreachable from here for now (no route of ours yet, our host
   * address not yet at the ToRs): settling on it would advertise the VIP with a ring lacking it and re-steer
   * the flows other hosts send here (found in the lab after a restart). Such a start waits for grace_time.
   */
  #checkSettled(): void {
    const local = this.config.localInstanceId;
    const states = [...this.#health.states().entries()];
    if (states.every(([id, s]) => (id === local ? s !== 'unknown' : s === 'up')))
      this.#settle('checks-settled');
  }

  #settle(reason: string): void {
    if (this.#settled || this.#stopping) return;
    this.#settled = true;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = null;
    this.#log('info', 'service-settled', { reason, states: Object.fromEntries(this.#health.states()) });
    this.#kick();
    this.#publish();
    this.#d.onSettled();
  }

  #wish(): Wish {
    if (this.#stopping) return 'stop';
    if (!this.#settled) return 'hold';
    const local = this.#health.states().get(this.config.localInstanceId);
    return local === 'up' ? 'up' : local === 'drained' ? 'drain' : 'down';
  }

  #kick(): void {
    if (this.#stopping) return;
    if (this.#running) {
      this.#dirty = true;
      if (this.#wait && this.#wait.wish !== this.#wish()) this.#interrupt();
      return;
    }
    this.#running = this.#loop().finally(() => {
      this.#running = null;
    });
  }

  async #loop(): Promise<void> {
    do {
      this.#dirty = false;
      try {
        await this.#step(this.#wish());
      } catch (err) {
        this.#log('error', 'action-failed', { reason: this.#reason, error: err, retryMs: RETRY_MS });
        this.#retryTimer ??= setTimeout(() => {
          this.#retryTimer = null;
          this.#kick();
        }, RETRY_MS);
        return;
      }
    } while (this.#dirty && !this.#stopping);
  }

  async #step(wish: Wish): Promise<void> {
    if (wish === 'up') this.#up();
    else if (wish === 'down' || wish === 'drain') await this.#down(wish);
  }

  #up(): void {
    const reason = this.#reason;
    this.#drain.cancel();
    for (const vip of this.config.vips) this.#vipOn(vip, reason);
    this.#rings.local.new = this.#rings.local.established = true;
    this.#writeRings(reason);
    if (this.#route === 'advertised') return;
    for (const vip of this.config.vips) this.#d.announcer.advertise(hostPrefix(vip));
    this.#log('info', 'route-advertised', { reason, from: this.#route, vips: this.config.vips });
    this.#route = 'advertised';
  }

  async #down(wish: 'down' | 'drain'): Promise<void> {
    const reason = this.#reason;
    const worse = worseAttributes(this.config.onDown);
    if (this.#route === 'advertised' && worse) {
      for (const vip of this.config.vips) this.#d.announcer.advertise(hostPrefix(vip), worse);
      this.#route = 'worsened';
      this.#log('info', 'route-worsened', {
        reason,
        action: this.config.onDown.action,
        delayMs: this.config.onDown.delayMs,
      });
      if (wish === 'down') {
        await this.#flush(reason);
        if (this.#wish() !== wish) return;
        this.#leaveRings(reason);
      }
      if (!(await this.#sleep(this.config.onDown.delayMs, wish))) return;
    }
    if (this.#route !== 'withdrawn') {
      this.#withdraw(reason);
      await this.#flush(reason);
      if (this.#wish() !== wish) return;
    }
    if (wish === 'down') {
      this.#leaveRings(reason);
      if (this.config.vipLeavesLoWhenDown) for (const vip of this.config.vips) this.#vipOff(vip, reason);
      return;
    }
    this.#rings.local.new = false;
    this.#writeRings(reason);
    if (!this.#rings.local.established || this.#drain.active) return;
    this.#log('info', 'drain-started', { reason, drainTimeMs: this.config.drainTimeMs });
    this.#drain.start(
      () => this.config,
      this.#d.connections,
      (why) => this.#finishDrain(why),
      (error) => this.#log('warn', 'connection-count-failed', { reason, error }),
    );
  }

  /** A failed local instance: out of both rings and marked failed, before any route step. */
  #leaveRings(reason: string): void {
    this.#drain.cancel();
    this.#rings.local.new = this.#rings.local.established = false;
    this.#writeRings(reason);
    this.#rings.setValid(this.config, this.config.localInstanceId, false, reason);
  }

  /** The drain time is over or no client connection is left: out of the `established` ring too. */
  #finishDrain(reason: DrainEnd): void {
    if (this.#wish() !== 'drain') return;
    this.#rings.local.established = false;
    this.#writeRings(reason);
    this.#log('info', 'drain-finished', { reason });
    if (this.config.vipLeavesLoWhenDown) for (const vip of this.config.vips) this.#vipOff(vip, reason);
  }

  #withdraw(reason: string): void {
    if (this.#route === 'withdrawn') return;
    for (const vip of this.config.vips) this.#d.announcer.withdraw(hostPrefix(vip));
    this.#log('info', 'route-withdrawn', { reason, from: this.#route, vips: this.config.vips });
    this.#route = 'withdrawn';
  }

  async #flush(reason: string): Promise<void> {
    const started = performance.now();
    const ok = await this.#d.announcer.flushed(this.#d.flushTimeoutMs);
    const ms = Math.round((performance.now() - started) * 1000) / 1000;
    this.#log(ok ? 'info' : 'warn', ok ? 'withdrawal-flushed' : 'withdrawal-flush-timeout', { reason, ms });
  }

  /** Sleeps `ms`; false (early) when the wish changes from `wish` meanwhile. */
  #sleep(ms: number, wish: Wish): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(true), ms);
      const finish = (completed: boolean): void => {
        clearTimeout(timer);
        this.#wait = null;
        resolve(completed);
      };
      this.#wait = { wish, done: finish };
    });
  }

  #interrupt(): void {
    this.#wait?.done(false);
  }

  #writeRings(reason: string): void {
    const cluster = this.#d.cluster;
    this.#rings.write(
      this.config,
      this.#health.states(),
      reason,
      cluster ? (id) => cluster.reported(this.name, id) : undefined,
    );
    this.#publish();
  }

  /**
   * Tells the other agents what this host says of its local instance: its health and whether the rings
   * here hold it. Only once settled (a starting agent has nothing to say yet; the others keep their own
   * view), and never taken back while running (a reload's re-settling keeps the last word).
   */
  #publish(): void {
    const cluster = this.#d.cluster;
    if (!cluster || !this.#settled || this.#stopping) return;
    const state = this.#health.states().get(this.config.localInstanceId);
    if (state !== 'up' && state !== 'down' && state !== 'drained') return;
    cluster.publish(this.name, this.config.localInstanceId, {
      state,
      new: this.#rings.local.new,
      established: this.#rings.local.established,
    });
  }

  #vipOn(vip: string, reason: string): void {
    if (this.#d.host.add(vip)) this.#log('info', 'vip-added', { reason, vip });
    this.#onLo.add(vip);
  }

  #vipOff(vip: string, reason: string): void {
    if (this.#d.host.remove(vip)) this.#log('info', 'vip-removed', { reason, vip });
    this.#onLo.delete(vip);
  }

  #clearTimers(): void {
    this.#drain.cancel();
    for (const t of [this.#graceTimer, this.#retryTimer]) if (t) clearTimeout(t);
    this.#graceTimer = this.#retryTimer = null;
  }

  #log(level: Level, event: string, fields: Record<string, unknown>): void {
    this.#d.log(level, event, { service: this.name, ...fields });
  }
}
