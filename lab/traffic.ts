// Traffic in flight for the keeping bench, run inside the client namespace and driven over stdin:
//   ip netns exec <ns> node --import tsx lab/traffic.ts --target 203.0.113.10 --every 20 --long 4
// Two kinds of traffic to the lab service (lab/service.ts answers "<id>\n" on accept and to every line):
// - short requests: one new connection every `every` ms (not waiting for the previous): greeting,
//   one line, its answer, close — what a web front sees;
// - `long` long transfers: connections that write CHUNK_LINES request lines at a time and wait for
//   every answer before the next chunk, for as long as the run lasts (upload and download both moving).
// Counted: requests done; errors by cause (ECONNRESET, ECONNREFUSED, timeout, closed); stalls — a short
// request that took more than STALL_MS, or a long transfer that received nothing for more than STALL_MS
// while it waited for answers; answers from another instance than the greeting's ("moved").
// Commands, one per line, each answered with one JSON line: `report` (the figures since the last
// report; long transfers keep running), `stop` (no new requests; the figures once those in flight
// ended, long transfers then closed), `quit` (exit). First line out: {"type":"started"}.

import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

/** A request or a long transfer that waits longer than this for the service is stalled. */
export const STALL_MS = 1_000;
/** A short request that takes longer than this fails (timeout). */
const REQUEST_TIMEOUT_MS = 5_000;
/** Request lines ("?\n", 2 bytes each) a long transfer writes at a time. */
const CHUNK_LINES = 1024;

export interface TrafficReport {
  type: 'report';
  /** Short requests started and completed. */
  requests: number;
  ok: number;
  /** Failed short requests and long transfers, by cause. */
  errors: Record<string, number>;
  /** Short requests that took more than STALL_MS, and long-transfer waits longer than STALL_MS. */
  stalls: number;
  /** Longest wait of a long transfer for an answer (ms). */
  longestWaitMs: number;
  /** Answers from another instance than the connection's greeting named. */
  moved: number;
  /** Long transfers running, and bytes they received. */
  longRunning: number;
  longBytes: number;
}

function bump(rec: Record<string, number>, key: string): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

const why = (err: NodeJS.ErrnoException): string => err.code ?? err.message;

class Counts {
  r: TrafficReport = Counts.empty();
  static empty(): TrafficReport {
    return {
      type: 'report',
      requests: 0,
      ok: 0,
      errors: {},
      stalls: 0,
      longestWaitMs: 0,
      moved: 0,
      longRunning: 0,
      longBytes: 0,
    };
  }
  take(longRunning: number): TrafficReport {
    const out = { ...this.r, longRunning };
    this.r = Counts.empty();
    return out;
  }
}

/** One short request: connect, greeting, one line, its answer, close. */
function shortRequest(target: string, port: number, c: Counts): Promise<void> {
  return new Promise((resolve) => {
    const started = performance.now();
    const sock = connect({ host: target, port });
    let buf = '';
    let host: string | undefined;
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (error) bump(c.r.errors, error);
      else c.r.ok++;
      if (performance.now() - started > STALL_MS) c.r.stalls++;
      resolve();
    };
    const timer = setTimeout(() => finish('timeout'), REQUEST_TIMEOUT_MS);
    c.r.requests++;
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        if (host === undefined) {
          host = line;
          sock.write('?\n');
        } else {
          if (line !== host) c.r.moved++;
          finish();
        }
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => finish(why(err)));
    sock.on('close', () => finish('closed'));
  });
}

/** A long transfer: chunks of request lines, each chunk's answers awaited before the next. */
class LongTransfer {
  #sock: Socket;
  #host: string | undefined;
  #owed = 0;
  #buf = '';
  #lastRx = performance.now();
  #stalled = false;
  #timer: NodeJS.Timeout;
  running = true;

  constructor(target: string, port: number, c: Counts) {
    this.#sock = connect({ host: target, port });
    this.#sock.setNoDelay(true);
    const fail = (cause: string): void => {
      if (!this.running) return;
      this.running = false;
      clearInterval(this.#timer);
      bump(c.r.errors, `long ${cause}`);
      this.#sock.destroy();
    };
    this.#sock.on('data', (d) => {
      const now = performance.now();
      c.r.longestWaitMs = Math.max(c.r.longestWaitMs, Math.round(now - this.#lastRx));
      this.#lastRx = now;
      this.#stalled = false;
      c.r.longBytes += d.length;
      const text = this.#buf + d.toString('latin1');
      const end = text.lastIndexOf('\n') + 1;
      this.#buf = text.slice(end);
      let complete = text.slice(0, end);
      if (this.#host === undefined && end > 0) {
        const nl = complete.indexOf('\n');
        this.#host = complete.slice(0, nl);
        complete = complete.slice(nl + 1);
      }
      // every answer is the greeting's id: compare the whole run at once (cheap at CHUNK_LINES a chunk)
      let lines = 0;
      for (let i = complete.indexOf('\n'); i >= 0; i = complete.indexOf('\n', i + 1)) lines++;
      if (lines > 0 && complete !== `${this.#host}\n`.repeat(lines)) c.r.moved++;
      this.#owed -= lines;
      if (this.#owed <= 0 && this.running) this.#send();
    });
    this.#sock.on('error', (err: NodeJS.ErrnoException) => fail(why(err)));
    this.#sock.on('close', () => fail('closed'));
    this.#timer = setInterval(() => {
      const waited = performance.now() - this.#lastRx;
      if (waited > STALL_MS && !this.#stalled) {
        this.#stalled = true;
        c.r.stalls++;
      }
      c.r.longestWaitMs = Math.max(c.r.longestWaitMs, Math.round(waited));
    }, STALL_MS / 4);
  }

  #send(): void {
    this.#owed = CHUNK_LINES;
    this.#sock.write('?\n'.repeat(CHUNK_LINES));
  }

  stop(): void {
    this.running = false;
    clearInterval(this.#timer);
    this.#sock.destroy();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      port: { type: 'string', default: String(SERVICE_PORTS.tcp) },
      every: { type: 'string', default: '20' },
      long: { type: 'string', default: '4' },
    },
  });
  if (!values.target) {
    process.stderr.write('usage: traffic.ts --target <vip> [--port p] [--every ms] [--long n]\n');
    process.exit(2);
  }
  const { target } = values;
  const port = Number(values.port);
  const c = new Counts();
  const longs = Array.from({ length: Number(values.long) }, () => new LongTransfer(target, port, c));
  const shorts = new Set<Promise<void>>();
  const ticker = setInterval(() => {
    const p = shortRequest(target, port, c);
    shorts.add(p);
    void p.then(() => shorts.delete(p));
  }, Number(values.every));
  const say = (x: object): void => void process.stdout.write(`${JSON.stringify(x)}\n`);
  say({ type: 'started' });
  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    if (cmd === 'report') say(c.take(longs.filter((l) => l.running).length));
    else if (cmd === 'stop') {
      clearInterval(ticker);
      await Promise.all(shorts);
      const running = longs.filter((l) => l.running).length;
      for (const l of longs) l.stop();
      say(c.take(running));
    } else if (cmd === 'quit') break;
  }
  clearInterval(ticker);
  for (const l of longs) l.stop();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`traffic: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
