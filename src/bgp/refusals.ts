// Refused inbound BGP connections (a source address that is not a configured peer): every one is
// counted, but a flood writes few log lines. The lines are the agent's one per-key limit
// (src/log/limited-log.ts) with `carry`: the first refusal from an address is logged at once, later
// ones are only counted, and at the end of each interval an address refused again gets one line with
// the count not logged (`suppressed`) and stays counted-only for the next interval; an address quiet
// for a whole interval is forgotten. The table of addresses is bounded: once it is full, further
// addresses share one line under `address: "other"`. Time comes from the injected clock.

import { type Clock, systemClock } from '../clock.js';
import { LimitedLog, OTHER_KEY } from '../log/limited-log.js';

/** How long one log line stands for an address's further refusals. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Source addresses tracked per interval; beyond it they share one "other" line. */
export const REFUSAL_MAX_ADDRESSES = 1024;
/** The `address` of the line shared by addresses the table had no room for. */
export const OTHER_ADDRESSES = OTHER_KEY;

export interface RefusalLine {
  address: string;
  /** Refusals from the address since its last line that no line reported. */
  suppressed: number;
}

export interface RefusalLogOptions {
  intervalMs?: number;
  maxAddresses?: number;
}

export class RefusalLog {
  /** Every refused connection since start. */
  total = 0;
  readonly #lines: LimitedLog;

  constructor(emit: (line: RefusalLine) => void, opts: RefusalLogOptions = {}, clock: Clock = systemClock) {
    this.#lines = new LimitedLog(
      (fields) => emit({ address: String(fields.address), suppressed: Number(fields.suppressed) }),
      opts.intervalMs ?? REFUSAL_LOG_INTERVAL_MS,
      opts.maxAddresses ?? REFUSAL_MAX_ADDRESSES,
      clock,
      { carry: true },
    );
  }

  /** Count one refusal from `address`; logs it only if the address has had no line this interval. */
  refuse(address: string): void {
    this.total++;
    this.#lines.note(address, { address, suppressed: 0 });
  }

  /** Writes the counts held back; no timer is left. */
  close(): void {
    this.#lines.close();
  }
}
