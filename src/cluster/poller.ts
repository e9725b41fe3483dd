// Follows one remote agent's reports (src/cluster/report.ts) by long poll (poll-request.ts): the last token
// and a wait, so a change there (a drain, a failed instance) arrives here within a round trip, without
// polling traffic in between. Requests start at most every POLL_FLOOR_MS whatever the peer answers. On an
// error it retries with a growing pause (250 ms … 5 s); a rejected reply (forged, replayed, too big) is
// counted, never applied, and retried the same way. The last reports are kept through an outage of up to
// `forgetAfterMs` (an agent restarting keeps what it said), then forgotten, so a silent agent never holds
// its instances out of the rings for good. Every pause and every time read comes from the injected clock.

import { Agent as HttpAgent } from 'node:http';
import { type Clock, sleep, systemClock } from '../clock.js';
import type { ClusterKeys } from '../config/cluster-keys.js';
import type { ReplyRejection } from './counters.js';
import { POLL_FLOOR_MS } from './limits.js';
import { pollOnce } from './poll-request.js';
import { RejectedReply, type ReportEntry } from './report.js';

export const POLL_WAIT_MS = 10_000;
export const FORGET_AFTER_MS = 30_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Nonces of earlier requests kept to tell a replayed reply from a forged one. */
const EARLIER_NONCES = 4;

export interface PollerOptions {
  /** The remote agent's host address (IPv4 or IPv6). */
  address: string;
  port: number;
  /** This host's address of the same family (the source the peer admits). */
  localAddress?: string;
  /** The keys in force (a reload swaps them). */
  keys: () => ClusterKeys;
  /** Entries a reply from this peer may carry (the config's bound). */
  maxEntries: () => number;
  /** Every reply that changed something, and `[]` when the reports are forgotten. */
  onReports: (entries: readonly ReportEntry[]) => void;
  /** Reachability changes (the first failure, the first reply after failures). */
  onReachable: (reachable: boolean, detail: string) => void;
  /** A reply dropped unapplied. */
  onRejected: (reason: ReplyRejection, detail: string) => void;
  waitMs?: number;
  forgetAfterMs?: number;
  /** Default: the system clock. */
  clock?: Clock;
}

export class ReportPoller {
  readonly address: string;
  readonly #o: PollerOptions;
  readonly #clock: Clock;
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  readonly #abort = new AbortController();
  readonly #nonces: string[] = [];
  #token = '';
  #reachable: boolean | null = null;
  /** When the last reply came (clock.now() ms; the poller's start before the first). */
  #lastOk: number;
  #lastStart = Number.NEGATIVE_INFINITY;
  #holding = false;
  #replies = 0;
  #requests = 0;
  #busy = false;

  constructor(opts: PollerOptions) {
    this.address = opts.address;
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#lastOk = this.#clock.now();
  }

  get reachable(): boolean {
    return this.#reachable === true;
  }

  get replies(): number {
    return this.#replies;
  }

  /** Requests sent (tests: the floor holds whatever the peer does). */
  get requests(): number {
    return this.#requests;
  }

  /** A request is under way (its answer, or its failure, not yet taken). */
  get busy(): boolean {
    return this.#busy;
  }

  start(): void {
    void this.#run();
  }

  close(): void {
    this.#abort.abort();
    this.#http.destroy();
  }

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      const floor = this.#lastStart + POLL_FLOOR_MS - this.#clock.now();
      if (floor > 0 && !(await sleep(this.#clock, floor, this.#abort.signal))) return;
      this.#lastStart = this.#clock.now();
      this.#requests++;
      this.#busy = true;
      try {
        const reply = await pollOnce({
          address: this.address,
          port: this.#o.port,
          ...(this.#o.localAddress ? { localAddress: this.#o.localAddress } : {}),
          keys: this.#o.keys(),
          clock: this.#clock,
          since: this.#token,
          wait: this.#token === '' ? 0 : (this.#o.waitMs ?? POLL_WAIT_MS),
          maxEntries: this.#o.maxEntries(),
          agent: this.#http,
          signal: this.#abort.signal,
          earlier: this.#nonces,
          sent: (nonce) => {
            this.#nonces.unshift(nonce);
            this.#nonces.length = Math.min(this.#nonces.length, EARLIER_NONCES + 1);
          },
        });
        this.#busy = false;
        this.#replies++;
        this.#lastOk = this.#clock.now();
        failures = 0;
        this.#setReachable(true, 'reply');
        if (reply.token !== this.#token || this.#holding) {
          this.#token = reply.token;
          this.#holding = false;
          this.#o.onReports(reply.instances);
        }
      } catch (err) {
        this.#busy = false;
        if (this.#abort.signal.aborted) return;
        failures++;
        const detail = err instanceof Error ? err.message : String(err);
        if (err instanceof RejectedReply) this.#o.onRejected(err.reason, detail);
        this.#setReachable(false, detail);
        if (!this.#holding && this.#clock.now() - this.#lastOk > (this.#o.forgetAfterMs ?? FORGET_AFTER_MS)) {
          this.#holding = true; // forgotten until the next reply, which is then taken whatever its token
          this.#o.onReports([]);
        }
        await sleep(
          this.#clock,
          Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)),
          this.#abort.signal,
        );
      }
    }
  }

  #setReachable(reachable: boolean, detail: string): void {
    if (this.#reachable === reachable) return;
    this.#reachable = reachable;
    this.#o.onReachable(reachable, detail);
  }
}
