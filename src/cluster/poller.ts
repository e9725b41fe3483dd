// Follows one remote agent's reports (src/cluster/report.ts) by long poll: GET /v1/instances with the
// last token and a wait, so a change there (a drain, a failed instance) arrives here within a round trip,
// without polling traffic in between. On an error it retries with a growing pause (250 ms … 5 s); the
// last reports are kept through an outage of up to `forgetAfterMs` (an agent restarting keeps what it
// said), then forgotten, so a silent agent never holds its instances out of the rings for good.

import { Agent as HttpAgent, request } from 'node:http';
import { isIPv6 } from 'node:net';
import { INSTANCES_PATH, type InstancesReply, parseInstancesReply, type ReportEntry } from './report.js';

export const POLL_WAIT_MS = 10_000;
/** Past the wait: the reply is late, the connection is taken as dead. */
const REPLY_SLACK_MS = 3_000;
export const FORGET_AFTER_MS = 30_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
const MAX_BODY = 1 << 20;

export interface PollerOptions {
  /** The remote agent's host address (IPv4 or IPv6). */
  address: string;
  port: number;
  /** Every reply that changed something, and `[]` when the reports are forgotten. */
  onReports: (entries: readonly ReportEntry[]) => void;
  /** Reachability changes (the first failure, the first reply after failures). */
  onReachable: (reachable: boolean, detail: string) => void;
  waitMs?: number;
  forgetAfterMs?: number;
}

export class ReportPoller {
  readonly address: string;
  readonly #o: PollerOptions;
  readonly #http = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  readonly #abort = new AbortController();
  #token = '';
  #reachable: boolean | null = null;
  #lastOk = Date.now();
  #holding = false;
  #replies = 0;

  constructor(opts: PollerOptions) {
    this.address = opts.address;
    this.#o = opts;
  }

  get reachable(): boolean {
    return this.#reachable === true;
  }

  get replies(): number {
    return this.#replies;
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
      try {
        const reply = await this.#get(this.#token === '' ? 0 : (this.#o.waitMs ?? POLL_WAIT_MS));
        this.#replies++;
        this.#lastOk = Date.now();
        failures = 0;
        this.#setReachable(true, 'reply');
        if (reply.token !== this.#token || this.#holding) {
          this.#token = reply.token;
          this.#holding = false;
          this.#o.onReports(reply.instances);
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        failures++;
        this.#setReachable(false, err instanceof Error ? err.message : String(err));
        if (!this.#holding && Date.now() - this.#lastOk > (this.#o.forgetAfterMs ?? FORGET_AFTER_MS)) {
          this.#holding = true; // forgotten until the next reply, which is then taken whatever its token
          this.#o.onReports([]);
        }
        await sleep(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failures - 1)), this.#abort.signal);
      }
    }
  }

  #setReachable(reachable: boolean, detail: string): void {
    if (this.#reachable === reachable) return;
    this.#reachable = reachable;
    this.#o.onReachable(reachable, detail);
  }

  #get(waitMs: number): Promise<InstancesReply> {
    const host = isIPv6(this.address) ? `[${this.address}]` : this.address;
    const from = `${host}:${this.#o.port}`;
    const query = `since=${encodeURIComponent(this.#token)}&wait=${waitMs}`;
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.address,
          port: this.#o.port,
          path: `${INSTANCES_PATH}?${query}`,
          agent: this.#http,
          signal: this.#abort.signal,
          timeout: waitMs + REPLY_SLACK_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY) req.destroy(new Error(`cluster reply from ${from}: over ${MAX_BODY} bytes`));
            else chunks.push(c);
          });
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode !== 200)
              return reject(new Error(`cluster reply from ${from}: HTTP ${res.statusCode}: ${body.trim()}`));
            try {
              resolve(parseInstancesReply(JSON.parse(body), from));
            } catch (err) {
              reject(
                err instanceof SyntaxError ? new Error(`cluster reply from ${from}: ${err.message}`) : err,
              );
            }
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`cluster reply from ${from}: no reply in time`)));
      req.on('error', reject);
      req.end();
    });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
