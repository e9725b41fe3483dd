// Health of one configured service on this host: an InstanceHealth per instance (every host of the
// service, checked at its host address; every host computes the same set from the same observations), the
// listener watch and the drain control of the local instance. Its transitions go to one callback; the
// agent turns them into ordered actions. healthyInstances() is the instance set for the Maglev rings.
// The checks and the drain poll run on the one clock given in the options.

import { type Clock, systemClock } from '../clock.js';
import type { ServiceConfig } from '../config/types.js';
import { DrainControl } from './drain.js';
import { InstanceHealth, type InstanceTransition } from './instance-health.js';
import type { ListenerWatch, ListenerWatcher } from './listener-watcher.js';
import { makeProbe } from './probe.js';

/** The lowest HTTP server-error status (RFC 9110 §15.6). */
const HTTP_SERVER_ERROR_MIN = 500;

export interface ServiceHealthOptions {
  service: ServiceConfig;
  onTransition: (t: InstanceTransition) => void;
  watcher?: ListenerWatcher;
  clock?: Clock;
  /** Probe factory (default: the real probes); tests may substitute. */
  probeFor?: typeof makeProbe;
  drainPollMs?: number;
}

export class ServiceHealth {
  readonly name: string;
  readonly instances: ReadonlyMap<string, InstanceHealth>;
  readonly drain: DrainControl;
  readonly #svc: ServiceConfig;
  readonly #watcher: ListenerWatcher | undefined;
  readonly #watches: ListenerWatch[] = [];

  constructor(opts: ServiceHealthOptions) {
    const svc = opts.service;
    this.name = svc.name;
    this.#svc = svc;
    this.#watcher = opts.watcher;
    const probeFor = opts.probeFor ?? makeProbe;
    const clock = opts.clock ?? systemClock;
    const map = new Map<string, InstanceHealth>();
    for (const inst of svc.instances) {
      const address = inst.host.ipv4 ?? inst.host.ipv6!;
      const checks = svc.checks.map((c, i) => ({
        options: { ...c, name: `${c.type}#${i}` },
        probe: probeFor(c, address, clock),
        watchSocket: 'watchSocket' in c && c.watchSocket,
        watchStall: 'watchStall' in c && c.watchStall,
      }));
      const local = inst.id === svc.localInstanceId;
      map.set(
        inst.id,
        new InstanceHealth({
          service: svc.name,
          instance: inst.id,
          local,
          checks,
          onTransition: opts.onTransition,
          clock,
        }),
      );
    }
    this.instances = map;
    this.drain = new DrainControl(
      svc.drainFile,
      (drained, source) => this.local.setDrained(drained, `drain ${source}`),
      opts.drainPollMs,
      clock,
    );
  }

  get local(): InstanceHealth {
    return this.instances.get(this.#svc.localInstanceId)!;
  }

  start(): void {
    for (const inst of this.instances.values()) inst.start();
    this.drain.start();
    if (!this.#watcher) return;
    const host = this.#svc.instances.find((i) => i.id === this.#svc.localInstanceId)!.host;
    // A listener on a VIP, on the host address, or on a wildcard address serves the instance.
    const addresses = [...this.#svc.vips, ...[host.ipv4, host.ipv6].filter((a): a is string => a !== null)];
    // One watch per port: socket-gone if any of its checks watches the socket, the stall signs (with the
    // shortest stall time) if any watches stalls.
    // A cleartext HTTP check whose accepted statuses are all below 500 also watches for 5xx answers.
    const ports = new Map<number, { gone: boolean; stallMs: number | null; httpErrors: boolean }>();
    for (const c of this.#svc.checks) {
      if (!('watchSocket' in c) || !(c.watchSocket || c.watchStall)) continue;
      const p = ports.get(c.port) ?? { gone: false, stallMs: null, httpErrors: false };
      p.gone ||= c.watchSocket;
      if (c.watchStall) p.stallMs = Math.min(p.stallMs ?? c.stallMs, c.stallMs);
      p.httpErrors ||= c.watchStall && c.type === 'http' && c.status.every((s) => s < HTTP_SERVER_ERROR_MIN);
      ports.set(c.port, p);
    }
    for (const [port, p] of ports)
      this.#watches.push(
        this.#watcher.watch(
          {
            port,
            addresses,
            ...(p.stallMs === null ? {} : { stallMs: p.stallMs }),
            ...(p.httpErrors ? { httpErrors: true } : {}),
          },
          {
            gone: (detail) => {
              if (p.gone) this.local.socketGone(detail);
            },
            ...(p.stallMs === null
              ? {}
              : { stalled: (detail: string, waitedMs: number) => this.local.suspect(detail, waitedMs) }),
          },
        ),
      );
  }

  stop(): void {
    for (const w of this.#watches.splice(0)) w.close();
    this.drain.stop();
    for (const inst of this.instances.values()) inst.stop();
  }

  /** Ids of the instances that take new flows (up), sorted: the Maglev set. */
  healthyInstances(): string[] {
    return [...this.instances.values()]
      .filter((i) => i.state === 'up')
      .map((i) => i.instance)
      .sort();
  }
}
