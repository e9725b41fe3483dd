// Driving the traffic generator (lab/traffic.ts) from the lab: short requests at a steady rate and a
// few long transfers to the VIP from the client namespace, running through a transition; `report()`
// gives the figures since the last report.

import { fileURLToPath } from 'node:url';
import { LineChild } from './line-child.js';
import type { Lab } from './topology.js';
import type { TrafficReport } from './traffic.js';

const TRAFFIC_SCRIPT = fileURLToPath(new URL('./traffic.ts', import.meta.url));

export interface TrafficOptions {
  target: string;
  /** A new short request every `everyMs`. */
  everyMs: number;
  /** Long transfers running throughout. */
  long: number;
}

export class Traffic {
  readonly #child: LineChild;

  private constructor(child: LineChild) {
    this.#child = child;
  }

  /** Start it; resolves once it runs. */
  static async start(lab: Lab, o: TrafficOptions): Promise<Traffic> {
    const child = new LineChild(lab, 'traffic', TRAFFIC_SCRIPT, [
      '--target',
      o.target,
      '--every',
      String(o.everyMs),
      '--long',
      String(o.long),
    ]);
    await child.next<{ type: 'started' }>();
    return new Traffic(child);
  }

  /** The figures since the last report (long transfers keep running). */
  report(): Promise<TrafficReport> {
    return this.#child.ask<TrafficReport>('report');
  }

  /** Stop it: the figures since the last report, once every short request in flight has ended. */
  async stop(): Promise<TrafficReport> {
    const r = await this.#child.ask<TrafficReport>('stop');
    await this.#child.stop();
    return r;
  }
}
