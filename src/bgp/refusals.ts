// Refused inbound BGP connections (a source address that is not a configured peer): every one is
// counted, but a flood writes few log lines — the first refusal from an address is logged at once,
// later ones within the interval are only counted, and at the end of each interval an address that
// was refused again gets one line with the count not logged (`suppressed`). The table of addresses
// is bounded: once it is full, refusals from further addresses are summed under `address: "other"`.

/** How long one log line stands for an address's further refusals. */
export const REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Source addresses tracked per interval; beyond it they share one "other" line. */
export const REFUSAL_MAX_ADDRESSES = 1024;
/** The `address` of the line that sums refusals from addresses the table had no room for. */
export const OTHER_ADDRESSES = 'other';

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
  /** Address → refusals since its last line (a key present means a line went out this interval). */
  private readonly recent = new Map<string, number>();
  private other = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly maxAddresses: number;

  constructor(
    private readonly emit: (line: RefusalLine) => void,
    opts: RefusalLogOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? REFUSAL_LOG_INTERVAL_MS;
    this.maxAddresses = opts.maxAddresses ?? REFUSAL_MAX_ADDRESSES;
  }

  /** Count one refusal from `address`; logs it only if the address has had no line this interval. */
  refuse(address: string): void {
    this.total++;
    const seen = this.recent.get(address);
    if (seen !== undefined) this.recent.set(address, seen + 1);
    else if (this.recent.size >= this.maxAddresses) this.other++;
    else {
      this.recent.set(address, 0);
      this.emit({ address, suppressed: 0 });
    }
    this.arm();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** End of an interval: a line for each address refused again; those that were quiet are forgotten. */
  private tick(): void {
    this.timer = undefined;
    for (const [address, n] of this.recent) {
      if (n === 0) this.recent.delete(address);
      else {
        this.emit({ address, suppressed: n });
        this.recent.set(address, 0);
      }
    }
    if (this.other > 0) this.emit({ address: OTHER_ADDRESSES, suppressed: this.other });
    this.other = 0;
    if (this.recent.size > 0) this.arm();
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
