// Driving the holder (lab/holder.ts) from the lab: start it in the client namespace with N
// long-lived connections to the VIP, then ask it to check them or to open new connections at a
// steady rate, one JSON answer per command.

import { fileURLToPath } from 'node:url';
import { VIP4 } from './addressing.js';
import type { CheckReport, FirstReport, OpenedReport, SteadyReport } from './holder.js';
import { LineChild } from './line-child.js';
import type { Lab } from './topology.js';

const HOLDER_SCRIPT = fileURLToPath(new URL('./holder.ts', import.meta.url));

export interface HolderOptions {
  count: number;
  target?: string;
  concurrency?: number;
}

export class Holder {
  readonly opened: OpenedReport;
  readonly #child: LineChild;

  private constructor(child: LineChild, opened: OpenedReport) {
    this.#child = child;
    this.opened = opened;
  }

  /** Start the holder; resolves once every connection has its greeting (or failed). */
  static async start(lab: Lab, opts: HolderOptions): Promise<Holder> {
    const child = new LineChild(lab, 'holder', HOLDER_SCRIPT, [
      '--target',
      opts.target ?? VIP4,
      '--count',
      String(opts.count),
      '--concurrency',
      String(opts.concurrency ?? 50),
    ]);
    return new Holder(child, await child.next<OpenedReport>());
  }

  /** Ping every held connection: alive and broken, per instance that accepted it. */
  check(): Promise<CheckReport> {
    return this.#child.ask<CheckReport>('check');
  }

  /** `n` new connections, one started every `everyMs`. */
  steady(everyMs: number, n: number): Promise<SteadyReport> {
    return this.#child.ask<SteadyReport>(`steady ${everyMs} ${n}`);
  }

  /** A new connection every `everyMs` until `host` answers one (or `timeoutMs` passed). */
  first(host: string, everyMs: number, timeoutMs: number): Promise<FirstReport> {
    return this.#child.ask<FirstReport>(`first ${host} ${everyMs} ${timeoutMs}`);
  }

  stop(): Promise<void> {
    return this.#child.stop();
  }
}
