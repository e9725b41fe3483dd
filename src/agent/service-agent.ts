// One service as the agent drives it: the single place where its health transitions become ordered
// actions on lo, the rings and BGP. Its reconcile loop (reconcile-loop.ts) runs the steps below toward
// the state health asks for, re-reading it after every wait (a service that recovers during the worsen
// delay is advertised again, not withdrawn):
//   up:    VIPs onto lo → local instance into both rings → advertise
//   down:  the first route step (worsen by MED / prepend / GRACEFUL_SHUTDOWN per on_down, or withdraw)
//          → wait until every peer was sent it → local instance out of both rings (and marked failed, so
//          its flows re-steer: nothing can be kept on a dead instance, and packets still arriving here
//          while the route converges go to healthy instances, not to a dead socket) → if worsened: wait
//          its delay → withdraw → wait until sent → VIPs off lo (if vip_leaves_lo_when_down).
//          The route goes first: it is what stops the ToRs sending here, so nothing delays it.
//   drain: the same route steps → out of the `new` ring → after drain_time, or once no client
//          connection is left, out of the `established` ring → VIPs off lo (if configured; never
//          before, its flows still need the VIP)
// Remote instances change the rings at once (no route of ours depends on them). With the etcd backend the
// remote instances are the registered ones and their own agents alone judge them (members-view.ts); with
// the mesh what a remote instance's own agent reports (src/cluster/) can only take it out: a drained one leaves `new` and later
// `established` when its agent's rings do, a failed one is marked failed at once. This host reports its
// local instance the same way once settled: its health and whether its rings hold it. Nothing is done
// before the first round of checks has settled (settling.ts). A reload applies only what changed.

import type { ClusterPort } from '../cluster/cluster.js';
import type { ServiceChange } from '../config/diff.js';
import type { ServiceConfig } from '../config/types.js';
import type { InstanceTransition } from '../health/instance-health.js';
import { type ConnectionCounter, type DrainEnd, DrainWait } from './drain-wait.js';
import type { HealthFactory, HealthPort } from './health-port.js';
import type { Level } from './log.js';
import { membersView } from './members-view.js';
import { ReconcileLoop } from './reconcile-loop.js';
import { ServiceRings } from './service-rings.js';
import { ServiceRoute, type ServiceRouteDeps } from './service-route.js';
import { localReport, type ServiceView, serviceStatus } from './service-status.js';
import { type SettleReason, Settling } from './settling.js';
import type { RouteState, ServiceStatus } from './status.js';
import type { SteeringPort } from './steering-port.js';

/** What health asks of the service now: nothing yet (not settled), up, down, drained, or stopped. */
type DesiredState = 'hold' | 'up' | 'down' | 'drain' | 'stop';

/** The announcer, lo, the clock, the flush bound and the log (ServiceRouteDeps), and: */
export interface ServiceAgentDeps extends ServiceRouteDeps {
  steering: SteeringPort;
  health: HealthFactory;
  /** Counts the local instance's client connections, so a drain can end when none is left. */
  connections?: ConnectionCounter;
  /** The other agents' reports and ours (absent: our own checks only). */
  cluster?: ClusterPort;
  /** Called once when the first round of checks has settled. */
  onSettled: () => void;
}

export class ServiceAgent {
  config: ServiceConfig;
  #health: HealthPort;
  readonly #deps: ServiceAgentDeps;
  #stopping = false;
  readonly #route: ServiceRoute;
  readonly #rings: ServiceRings;
  readonly #settling: Settling;
  readonly #loop: ReconcileLoop<DesiredState>;
  readonly #drain: DrainWait;
  readonly #transitions = new Map<string, number>();
  /** The reason of the local instance's last transition: logged with the steps it causes. */
  #reason = 'start';
  /** The operator's drain flag (API, or the store's drain key): kept here so rebuilt health keeps it. */
  #drainFlag = false;

  constructor(config: ServiceConfig, deps: ServiceAgentDeps) {
    this.config = config;
    this.#deps = deps;
    const log = (level: Level, event: string, fields: Record<string, unknown>): void =>
      this.#log(level, event, fields);
    this.#route = new ServiceRoute({ ...deps, log });
    this.#rings = new ServiceRings(deps.steering, (event, fields) => log('info', event, fields));
    this.#settling = new Settling(deps.clock, (reason) => this.#onSettled(reason));
    this.#loop = new ReconcileLoop<DesiredState>({
      clock: deps.clock,
      desired: () => this.#desired(),
      pass: (target) => this.#pass(target),
      failed: (error, retryMs) => log('error', 'action-failed', { reason: this.#reason, error, retryMs }),
    });
    this.#drain = new DrainWait(deps.clock);
    this.#health = deps.health(this.#checked(config), (t) => this.#onTransition(t));
  }

  get name(): string {
    return this.config.name;
  }

  get settled(): boolean {
    return this.#settling.settled;
  }

  get route(): RouteState {
    return this.#route.state;
  }

  start(): void {
    this.#settling.start(this.config.graceTimeMs);
    this.#health.start();
    this.#checkSettled();
  }

  setDrainFlag(drained: boolean): void {
    this.#drainFlag = drained;
    this.#health.setDrainFlag(drained);
  }

  /** Resolves when no step is running (a step started meanwhile is waited for too). */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  /**
   * Stop: the checks end and the VIPs are withdrawn (no worsening; the caller waits for the peers once
   * for all) — unless `keepRoutes` (a restart under graceful restart: the peers keep them).
   */
  async shutdown(reason: string, keepRoutes = false): Promise<void> {
    this.#stopping = true;
    this.#settling.stop();
    this.#drain.cancel();
    this.#health.stop();
    this.#loop.stop();
    await this.#loop.idle();
    if (!keepRoutes) this.#route.withdraw(this.config.vips, reason);
  }

  /** The service left the config: withdraw, wait for the peers, empty its rings, VIPs off lo. */
  async retire(): Promise<void> {
    await this.shutdown('service-removed');
    this.#deps.cluster?.publish(this.name, this.config.localInstanceId, null);
    await this.#route.flushed('service-removed');
    this.#deps.steering.removeService(this.name);
    this.#route.allVipsOff('service-removed');
  }

  /** Reload, first half: VIPs that leave the service are withdrawn, told to the peers, taken off lo
   * (before the data plane's VIP table drops them, so packets still arriving are steered meanwhile). */
  async dropVips(next: ServiceConfig): Promise<void> {
    const gone = this.config.vips.filter((v) => !next.vips.includes(v));
    if (gone.length > 0) await this.#route.removeVips(gone);
  }

  /** Reload, second half (after the VIP table has the new VIPs): apply only what changed. */
  update(next: ServiceConfig, change: ServiceChange): void {
    const before = this.config;
    this.config = next;
    this.#route.addVips(before, next);
    if (change.checksChanged || change.fields.includes('instances')) {
      // New checkers start unknown: hold the running route and rings until they settle again.
      this.#health.stop();
      this.#settling.hold();
      this.#health = this.#deps.health(this.#checked(next), (t) => this.#onTransition(t));
      // the new checks start unknown; a drained instance comes back drained, never briefly up
      if (this.#drainFlag) this.#health.setDrainFlag(true);
      this.#log('info', 'checks-restarted', { reason: 'config-changed', fields: change.fields });
      this.start();
    }
    this.#loop.kick();
  }

  /** A remote instance's agent changed what it says of it: rewrite the rings (once settled). */
  reportChanged(instance: string): void {
    if (this.#stopping || instance === this.config.localInstanceId) return;
    if (!this.settled)
      this.#checkSettled(); // the store's first read may be what it waited for
    else this.#writeRings('peer-report');
  }

  status(): ServiceStatus {
    return serviceStatus(this.#view());
  }

  /**
   * The VIPs that go on lo from the start because they never leave it (the service may need them to
   * bind); the agent puts every service's on lo in one go and they are this service's from then on.
   */
  staticVips(): readonly string[] {
    if (this.config.vipLeavesLoWhenDown) return [];
    this.#route.claim(this.config.vips);
    return this.config.vips;
  }

  #onTransition(t: InstanceTransition): void {
    if (this.#stopping) return;
    this.#transitions.set(t.reason, (this.#transitions.get(t.reason) ?? 0) + 1);
    const { reason, instance, local, from, to, check, detail } = t;
    const level = to === 'down' ? 'warn' : 'info';
    this.#log(level, 'health-transition', { reason, instance, local, from, to, check, detail });
    if (t.from === t.to) return; // a dampening hold: nothing changes
    if (t.local) {
      this.#reason = t.reason;
      this.#publish();
    }
    if (!this.settled) {
      this.#checkSettled();
      return;
    }
    if (!t.local) this.#writeRings(t.reason);
    this.#loop.kick();
  }

  /**
   * Settles once the checks allow it (settling.ts) — with the etcd backend also only once the store has
   * been read: rings of the local instance alone would take every flow the routers move here
   * (grace_time still bounds the wait, as for a remote instance not seen up).
   */
  #checkSettled(): void {
    if (this.#deps.cluster?.membersKnown?.() === false) return;
    this.#settling.check(this.#health.states(), this.config.localInstanceId);
  }

  #onSettled(reason: SettleReason): void {
    this.#log('info', 'service-settled', { reason, states: Object.fromEntries(this.#health.states()) });
    if (this.#deps.cluster?.membersKnown?.() === false)
      this.#log('warn', 'members-unknown', { reason, detail: 'the store was not read by grace_time' });
    this.#loop.kick();
    this.#publish();
    this.#deps.onSettled();
  }

  #desired(): DesiredState {
    if (this.#stopping) return 'stop';
    if (!this.settled) return 'hold';
    const local = this.#health.states().get(this.config.localInstanceId);
    return local === 'up' ? 'up' : local === 'drained' ? 'drain' : 'down';
  }

  async #pass(target: DesiredState): Promise<void> {
    if (target === 'up') await this.#up();
    else if (target === 'down' || target === 'drain') await this.#down(target);
  }

  async #up(): Promise<void> {
    const reason = this.#reason;
    this.#drain.cancel();
    this.#route.vipsOn(this.config.vips, reason);
    this.#rings.local.new = this.#rings.local.established = true;
    this.#writeRings(reason);
    // A ring write may land a few ms later (its table built off the loop): the routers are told to send
    // here only once the kernel's rings hold this instance.
    await this.#deps.steering.settled?.();
    if (this.#desired() !== 'up') return;
    this.#route.advertise(this.config.vips, reason);
  }

  async #down(target: 'down' | 'drain'): Promise<void> {
    const reason = this.#reason;
    if (this.#route.worsen(this.config.vips, this.config.onDown, reason)) {
      if (target === 'down') {
        await this.#route.flushed(reason);
        if (this.#desired() !== target) return;
        this.#leaveRings(reason);
      }
      if (!(await this.#loop.wait(this.config.onDown.delayMs, target))) return;
    }
    if (this.#route.state !== 'withdrawn') {
      this.#route.withdraw(this.config.vips, reason);
      await this.#route.flushed(reason);
      if (this.#desired() !== target) return;
    }
    if (target === 'down') {
      this.#leaveRings(reason);
      if (this.config.vipLeavesLoWhenDown) this.#route.vipsOff(this.config.vips, reason);
      return;
    }
    this.#rings.local.new = false;
    this.#writeRings(reason);
    if (!this.#rings.local.established || this.#drain.active) return;
    this.#log('info', 'drain-started', { reason, drainTimeMs: this.config.drainTimeMs });
    this.#drain.start(
      () => this.config,
      this.#deps.connections,
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
    if (this.#desired() !== 'drain') return;
    this.#rings.local.established = false;
    this.#writeRings(reason);
    this.#log('info', 'drain-finished', { reason });
    if (this.config.vipLeavesLoWhenDown) this.#route.vipsOff(this.config.vips, reason);
  }

  #writeRings(reason: string): void {
    const cluster = this.#deps.cluster;
    const members = cluster?.members?.(this.name);
    if (members) {
      const m = membersView(this.config, members, this.#health.states());
      this.#rings.write(m.config, m.states, reason, m.reported);
    } else
      this.#rings.write(
        this.config,
        this.#health.states(),
        reason,
        cluster ? (id) => cluster.reported(this.name, id) : undefined,
      );
    this.#publish();
  }

  /**
   * What this host's checks look at: every instance with the mesh; with the etcd backend the local one
   * only (the others are judged by their own agents, so every host builds the same rings).
   */
  #checked(config: ServiceConfig): ServiceConfig {
    if (!this.#deps.cluster?.members) return config;
    return { ...config, instances: config.instances.filter((i) => i.id === config.localInstanceId) };
  }

  /**
   * Tells the other agents what this host says of its local instance (service-status.ts), once it has
   * something to say; never taken back while running (a reload's re-settling keeps the last word).
   */
  #publish(): void {
    const cluster = this.#deps.cluster;
    const report = cluster && !this.#stopping ? localReport(this.#view()) : null;
    if (report) cluster?.publish(this.name, this.config.localInstanceId, report);
  }

  #view(): ServiceView {
    const members = this.#deps.cluster?.members?.(this.name);
    return {
      config: members ? membersView(this.config, members, this.#health.states()).config : this.config,
      settled: this.settled,
      health: this.#health,
      route: this.#route,
      rings: this.#rings,
      steering: this.#deps.steering,
      cluster: this.#deps.cluster,
      transitions: this.#transitions,
    };
  }

  #log(level: Level, event: string, fields: Record<string, unknown>): void {
    this.#deps.log(level, event, { service: this.name, ...fields });
  }
}
