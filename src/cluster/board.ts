// This host's side of the cluster reports: what the agent says of its local instance of each service
// (src/cluster/report.ts; one entry per service, so as many entries as services configured here), a token
// that changes with every change (`<boot id>.<version>`, so a restarted agent never repeats a token a
// poller holds), and the waiters of long polls (capped per peer by the server), woken at the first change
// or at the end of their wait on the injected clock.

import { randomBytes } from 'node:crypto';
import { type Clock, systemClock } from '../clock.js';
import { type InstanceReport, type InstancesReply, type ReportEntry, sameReport } from './report.js';

export class ReportBoard {
  readonly node: string;
  readonly #boot = randomBytes(6).toString('hex');
  #version = 0;
  readonly #reports = new Map<string, ReportEntry>(); // service → entry
  readonly #waiters = new Set<() => void>();
  readonly #clock: Clock;

  constructor(node: string, clock: Clock = systemClock) {
    this.node = node;
    this.#clock = clock;
  }

  /** Long polls waiting for a change now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  get token(): string {
    return `${this.#boot}.${this.#version}`;
  }

  /** Sets (or with null, removes) what is said of `instance` of `service`; wakes the waiters on a change. */
  publish(service: string, instance: string, report: InstanceReport | null): void {
    const prior = this.#reports.get(service);
    if (report === null) {
      if (!prior) return;
      this.#reports.delete(service);
    } else {
      if (prior && prior.instance === instance && sameReport(prior, report)) return;
      this.#reports.set(service, { service, instance, ...report });
    }
    this.#version++;
    for (const wake of [...this.#waiters]) wake();
  }

  reply(): InstancesReply {
    const instances = [...this.#reports.values()].sort((a, b) => (a.service < b.service ? -1 : 1));
    return { node: this.node, token: this.token, instances };
  }

  /** The reply with only the entries of `services` (what one peer's host runs). */
  replyFor(services: ReadonlySet<string>): InstancesReply {
    const all = this.reply();
    return { ...all, instances: all.instances.filter((e) => services.has(e.service)) };
  }

  /** Resolves at the first change after now, or after `ms`; `cancel` resolves it at once. */
  changed(ms: number): { done: Promise<void>; cancel: () => void } {
    let finish = (): void => {};
    const done = new Promise<void>((resolve) => {
      const timer = this.#clock.setTimeout(() => finish(), ms);
      finish = () => {
        this.#clock.clearTimeout(timer);
        this.#waiters.delete(finish);
        resolve();
      };
      this.#waiters.add(finish);
    });
    return { done, cancel: () => finish() };
  }

  /** Wakes every waiter (the server is closing). */
  wakeAll(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
