// Recording fakes of the agent's ports, for the pure sequencing tests: every call lands, in order, in one
// shared `steps` list ("withdraw 203.0.113.10/32", "ring web new [h2]", ...), so a test asserts the exact
// order of actions across BGP, the rings and lo. Health is driven by hand (FakeHealth.set). Times come
// from the Recorder's clock (give it a FakeClock and the agent the same one: nothing then waits).

import type { CheckView, HealthPort } from '../../src/agent/health-port.js';
import type { RingKind, RingShares, SteeringPort } from '../../src/agent/steering-port.js';
import type { ExportAttributes, RouteAnnouncer } from '../../src/bgp/announcer.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { type Clock, systemClock } from '../../src/clock.js';
import type { ClusterPort } from '../../src/cluster/cluster.js';
import type { InstanceReport } from '../../src/cluster/report.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config, PeerConfig, ServiceConfig } from '../../src/config/types.js';
import type { InstanceState, InstanceTransition } from '../../src/health/instance-health.js';
import type { TransitionReason } from '../../src/health/types.js';
import type { HostAddresses } from '../../src/host/lo-addresses.js';

export class Recorder {
  readonly steps: string[] = [];
  readonly times: number[] = [];
  constructor(readonly clock: Clock = systemClock) {}
  push(step: string): void {
    this.steps.push(step);
    this.times.push(this.clock.now());
  }
  /** Steps recorded from index `from` on (after a test's setup). */
  since(from: number): string[] {
    return this.steps.slice(from);
  }
  timeOf(step: string): number {
    const i = this.steps.indexOf(step);
    if (i < 0) throw new Error(`no step ${step} in ${JSON.stringify(this.steps)}`);
    return this.times[i]!;
  }
}

const pfx = (p: Prefix): string => `${p.addr}/${p.len}`;

export class FakeAnnouncer implements RouteAnnouncer {
  flushDelayMs = 5;
  /** When false, flushed() never reports success (a peer that never drains its socket). */
  peersDrain = true;
  eorReleased = 0;
  constructor(readonly rec: Recorder) {}
  advertise(prefix: Prefix, attrs?: ExportAttributes): void {
    this.rec.push(`advertise ${pfx(prefix)}${attrs ? ` ${JSON.stringify(attrs)}` : ''}`);
  }
  withdraw(prefix: Prefix): void {
    this.rec.push(`withdraw ${pfx(prefix)}`);
  }
  /** Peers that take `flushDelayMs` (of the recorder's clock) to drain their sockets. */
  flushed(timeoutMs: number): Promise<boolean> {
    const clock = this.rec.clock;
    return new Promise((resolve) => {
      if (this.peersDrain && this.flushDelayMs <= timeoutMs)
        clock.setTimeout(() => {
          this.rec.push('flushed');
          resolve(true);
        }, this.flushDelayMs);
      else clock.setTimeout(() => resolve(false), timeoutMs);
    });
  }
  releaseEndOfRib(): void {
    this.eorReleased++;
    this.rec.push('end-of-rib');
  }
}

/** An announcer that also offers applyPeers (as the speaker may). */
export class PeerAwareAnnouncer extends FakeAnnouncer {
  applied: PeerConfig[][] = [];
  applyPeers(peers: readonly PeerConfig[]): void {
    this.applied.push([...peers]);
    this.rec.push(`apply-peers ${peers.map((p) => p.name).join(',')}`);
  }
}

export class FakeHost implements HostAddresses {
  readonly addresses = new Set<string>();
  constructor(readonly rec: Recorder) {}
  add(address: string): boolean {
    if (this.addresses.has(address)) return false;
    this.addresses.add(address);
    this.rec.push(`lo-add ${address}`);
    return true;
  }
  addMany(addresses: readonly string[]): string[] {
    return addresses.filter((a) => this.add(a));
  }
  /** Adds at once, in order (the returned promise is already settled). */
  addAll(addresses: readonly string[]): Promise<string[]> {
    return Promise.resolve(this.addMany(addresses));
  }
  remove(address: string): boolean {
    if (!this.addresses.delete(address)) return false;
    this.rec.push(`lo-remove ${address}`);
    return true;
  }
  list(): string[] {
    return [...this.addresses];
  }
}

export class FakeSteering implements SteeringPort {
  readonly rings = new Map<string, string[]>();
  constructor(readonly rec: Recorder) {}
  setServices(services: readonly ServiceConfig[]): void {
    this.rec.push(`vips ${services.map((s) => `${s.name}=${s.vips.join('+')}`).join(' ')}`);
  }
  setRing(service: ServiceConfig, kind: RingKind, members: readonly string[]): void {
    this.rings.set(`${service.name} ${kind}`, [...members]);
    this.rec.push(`ring ${service.name} ${kind} [${members.join(',')}]`);
  }
  setValid(service: ServiceConfig, instance: string, valid: boolean): void {
    this.rec.push(`${valid ? 'valid' : 'failed'} ${service.name}/${instance}`);
  }
  removeService(name: string): void {
    this.rec.push(`ring-remove ${name}`);
  }
  shares(name: string): RingShares {
    const share = (kind: RingKind) => {
      const m = this.rings.get(`${name} ${kind}`) ?? [];
      return Object.fromEntries(m.map((id) => [id, 1 / m.length]));
    };
    return { new: share('new'), established: share('established') };
  }
}

/** The cluster port by hand: `report()` plays a remote agent, `published` records what we said. */
export class FakeCluster implements ClusterPort {
  readonly published: string[] = [];
  /** Whether the store was read (the etcd backend's membersKnown); `read()` turns it true. */
  known: boolean;
  constructor(o: { known?: boolean } = {}) {
    this.known = o.known ?? true;
  }
  membersKnown(): boolean {
    return this.known;
  }
  /** The store's first read: every listener hears of `services`. */
  read(services: readonly string[]): void {
    this.known = true;
    for (const s of services) for (const l of this.#listeners) l(s, '');
  }
  readonly #reports = new Map<string, InstanceReport>();
  readonly #listeners = new Set<(service: string, instance: string) => void>();
  publish(service: string, instance: string, report: InstanceReport | null): void {
    const text = report ? `${report.state} new=${report.new} est=${report.established}` : 'nothing';
    if (this.published.at(-1) !== `${service}/${instance} ${text}`)
      this.published.push(`${service}/${instance} ${text}`);
  }
  reported(service: string, instance: string): InstanceReport | undefined {
    return this.#reports.get(`${service}/${instance}`);
  }
  subscribe(listener: (service: string, instance: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  async apply(): Promise<void> {}
  /** A remote agent says `report` of its instance (undefined: it says nothing any more). */
  report(service: string, instance: string, report: InstanceReport | undefined): void {
    if (report) this.#reports.set(`${service}/${instance}`, report);
    else this.#reports.delete(`${service}/${instance}`);
    for (const l of this.#listeners) l(service, instance);
  }
}

export class FakeHealth implements HealthPort {
  readonly #states = new Map<string, InstanceState>();
  drainFlag = false;
  started = false;
  constructor(
    readonly service: ServiceConfig,
    readonly emit: (t: InstanceTransition) => void,
    readonly clock: Clock = systemClock,
  ) {
    for (const i of service.instances) this.#states.set(i.id, 'unknown');
  }
  start(): void {
    this.started = true;
  }
  stop(): void {
    this.started = false;
  }
  states(): ReadonlyMap<string, InstanceState> {
    return this.#states;
  }
  checks(instance: string): CheckView[] {
    const s = this.#states.get(instance);
    return [{ name: 'tcp#0', state: s === 'drained' ? 'up' : (s ?? 'unknown'), detail: 'fake' }];
  }
  setDrainFlag(drained: boolean): void {
    this.drainFlag = drained;
    const local = this.service.localInstanceId;
    if (this.#states.get(local) === 'up' && drained) this.set(local, 'drained', 'drained');
    else if (this.#states.get(local) === 'drained' && !drained) this.set(local, 'up', 'undrained');
  }
  /** A transition of one instance, as the health layer would emit it. */
  set(instance: string, wanted: InstanceState, reason: TransitionReason): void {
    const from = this.#states.get(instance)!;
    // as the health layer: a local instance that comes up while the drain flag is set is drained
    const to =
      wanted === 'up' && this.drainFlag && instance === this.service.localInstanceId ? 'drained' : wanted;
    this.#states.set(instance, to);
    this.emit({
      service: this.service.name,
      instance,
      local: instance === this.service.localInstanceId,
      from,
      to,
      reason,
      check: 'tcp#0',
      detail: 'fake',
      at: this.clock.now(),
    });
  }
}

/** A health factory that keeps every FakeHealth it made, by service name (the latest one). */
export function fakeHealthFactory(clock: Clock = systemClock) {
  const made = new Map<string, FakeHealth>();
  const factory = (svc: ServiceConfig, emit: (t: InstanceTransition) => void): FakeHealth => {
    const h = new FakeHealth(svc, emit, clock);
    made.set(svc.name, h);
    return h;
  };
  return { factory, made };
}

export interface ServiceOptions {
  name?: string;
  vip?: string;
  onDown?: string;
  vipLeaves?: boolean;
  drainTime?: string;
  grace?: string;
  port?: number;
}

export function serviceYaml(o: ServiceOptions = {}): string {
  const name = o.name ?? 'web';
  return `  - name: ${name}
    vips: [${o.vip ?? '203.0.113.10'}]
    ports: [{ protocol: tcp, port: ${o.port ?? 80} }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 }, weight: 2 }
    checks: [{ type: tcp, port: ${o.port ?? 80}, interval: 1s }]
    vip_leaves_lo_when_down: ${o.vipLeaves ?? true}
    drain_time: ${o.drainTime ?? '60ms'}
    grace_time: ${o.grace ?? '10s'}
    drain_file: /nonexistent/acd-agent-test/${name}
${o.onDown ? `    on_down: ${o.onDown}\n` : ''}`;
}

export function configYaml(services: string[], peers = 'tor1'): string {
  return `node:
  id: h1
  host: { ipv4: 192.0.2.11 }
  asn: 4200000011
  uplinks: [eth0]
bgp:
  peers:
${peers
  .split(',')
  .map((p, i) => `    - { name: ${p}, address: 198.51.100.${i * 2}, remote_asn: 65001 }`)
  .join('\n')}
services:
${services.join('')}`;
}

export function config(services: string[], file = '/test/anycastd.yaml', peers?: string): Config {
  return parseConfig(configYaml(services, peers), file);
}
