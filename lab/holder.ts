// The lab's client for connection keeping, run inside the client namespace and driven over stdin:
//   ip netns exec <ns> node --import tsx lab/holder.ts --target 203.0.113.10 --count 200
// It opens `count` long-lived TCP connections to the service on the VIP (each learns its instance from
// the greeting line: the service answers its host id) and holds them. Commands, one per line, each
// answered with one JSON line on stdout:
//   check              every connection still open sends a line and must get its instance's id back
//                      within a timeout; a reset, close, timeout or different id marks it broken
//   steady <ms> <n>    n new short connections, one started every <ms> (not waiting for the previous):
//                      answers per host and failures — new connections during a failover
//   first <host> <ms> <timeout-ms>
//                      a new short connection every <ms> (not waiting for the previous) until one is
//                      answered by <host> or <timeout-ms> passed: the wall time of that answer, per host
//                      and failures — when a joining host takes its first new flow
//   quit               close everything and exit
// First line out: {"type":"opened", ...} once every connection has its greeting (or failed).

import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

const CONNECT_TIMEOUT_MS = 3_000;
const CHECK_TIMEOUT_MS = 3_000;

export interface OpenedReport {
  type: 'opened';
  /** Connections per serving instance. */
  byHost: Record<string, number>;
  failed: number;
  firstError?: string;
}

export interface CheckReport {
  type: 'check';
  /** Connections that answered with their own instance, per instance. */
  alive: Record<string, number>;
  /** Connections broken (now or earlier), per instance that had accepted them. */
  broken: Record<string, number>;
  /** Why, counted ("ECONNRESET", "timeout", "closed", "moved to h2"). */
  reasons: Record<string, number>;
  /** Up to MAX_SAMPLES broken connections other than closed ones: "<instance> <client port> <why>". */
  samples: string[];
}

const MAX_SAMPLES = 20;

export interface FirstReport {
  type: 'first';
  /** Wall clock (ms since the epoch) of the first answer from the host asked for; null: none in time. */
  at: number | null;
  attempts: number;
  failures: number;
  byHost: Record<string, number>;
  firstError?: string;
}

export interface SteadyReport {
  type: 'steady';
  attempts: number;
  failures: number;
  byHost: Record<string, number>;
  firstError?: string;
}

interface Held {
  sock: Socket;
  host: string;
  /** The client's port (the flow's source port at the VIP). */
  port: number;
  /** Set once the connection broke; it stays broken. */
  broken?: string;
  /** Resolves the pending ping with the id that came back. */
  onLine?: (id: string) => void;
  /** Resolves the pending ping at once when the connection breaks (a reset is a reset, not a timeout). */
  onGone?: (why: string) => void;
}

function bump(rec: Record<string, number>, key: string): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

/** Open one connection and read its greeting; the socket stays open. */
function openOne(target: string, port: number, onBroken: (why: string) => void): Promise<Held> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: target, port });
    sock.setNoDelay(true);
    let buf = '';
    let held: Held | undefined;
    const timer = setTimeout(() => sock.destroy(new Error('timeout')), CONNECT_TIMEOUT_MS);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!held) {
          clearTimeout(timer);
          held = { sock, host: line, port: sock.localPort ?? 0 };
          resolve(held);
        } else {
          const cb = held.onLine;
          held.onLine = undefined;
          cb?.(line);
        }
      }
    });
    const gone = (why: string): void => {
      if (!held) return;
      onBroken(why);
      const cb = held.onGone;
      held.onGone = undefined;
      cb?.(held.broken ?? why);
    };
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!held) reject(err);
      else gone(err.code ?? err.message);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (!held) reject(new Error('closed before the greeting'));
      else gone('closed');
    });
  });
}

/** One short connection: the greeting names the instance. */
async function once(target: string, port: number): Promise<string> {
  const h = await openOne(target, port, () => {});
  h.sock.destroy();
  return h.host;
}

async function ping(h: Held): Promise<string | undefined> {
  if (h.broken) return h.broken;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      h.onLine = undefined;
      h.onGone = undefined;
      resolve('timeout');
    }, CHECK_TIMEOUT_MS);
    h.onLine = (id) => {
      clearTimeout(timer);
      h.onGone = undefined;
      resolve(id === h.host ? undefined : `moved to ${id}`);
    };
    h.onGone = (why) => {
      clearTimeout(timer);
      h.onLine = undefined;
      resolve(why);
    };
    h.sock.write('?\n');
  });
}

/** New connections every `everyMs` until `host` answers one (or `timeoutMs` passed); see `first`. */
async function firstFrom(
  target: string,
  port: number,
  host: string,
  everyMs: number,
  timeoutMs: number,
): Promise<FirstReport> {
  const r: FirstReport = { type: 'first', at: null, attempts: 0, failures: 0, byHost: {} };
  const until = Date.now() + timeoutMs;
  const jobs: Promise<void>[] = [];
  while (r.at === null && Date.now() < until) {
    r.attempts++;
    jobs.push(
      once(target, port).then(
        (id) => {
          bump(r.byHost, id);
          if (id === host && r.at === null) r.at = Date.now();
        },
        (err: unknown) => {
          r.failures++;
          r.firstError ??= err instanceof Error ? err.message : String(err);
        },
      ),
    );
    await new Promise((res) => setTimeout(res, everyMs));
  }
  await Promise.all(jobs);
  return r;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      port: { type: 'string', default: String(SERVICE_PORTS.tcp) },
      count: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '50' },
    },
  });
  if (!values.target) {
    process.stderr.write('usage: holder.ts --target <vip> [--port p] [--count n] [--concurrency n]\n');
    process.exit(2);
  }
  const target = values.target;
  const port = Number(values.port);
  const held: Held[] = [];
  const opened: OpenedReport = { type: 'opened', byHost: {}, failed: 0 };
  let next = 0;
  const count = Number(values.count);
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      let h: Held | undefined;
      try {
        h = await openOne(target, port, (why) => {
          if (h && !h.broken) h.broken = why;
        });
        held.push(h);
        bump(opened.byHost, h.host);
      } catch (err) {
        opened.failed++;
        opened.firstError ??= err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Number(values.concurrency), count) }, worker));
  const say = (x: object): void => void process.stdout.write(`${JSON.stringify(x)}\n`);
  say(opened);

  for await (const line of createInterface({ input: process.stdin })) {
    const [cmd, a, b] = line.trim().split(/\s+/);
    if (cmd === 'check') {
      const r: CheckReport = { type: 'check', alive: {}, broken: {}, reasons: {}, samples: [] };
      const results = await Promise.all(held.map((h) => ping(h)));
      results.forEach((why, i) => {
        const h = held[i]!;
        if (why === undefined) bump(r.alive, h.host);
        else {
          h.broken ??= why;
          bump(r.broken, h.host);
          bump(r.reasons, why);
          if (why !== 'closed' && r.samples.length < MAX_SAMPLES)
            r.samples.push(`${h.host} ${h.port} ${why}`);
        }
      });
      say(r);
    } else if (cmd === 'steady') {
      const everyMs = Number(a);
      const n = Number(b);
      const r: SteadyReport = { type: 'steady', attempts: n, failures: 0, byHost: {} };
      const jobs: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        jobs.push(
          once(target, port).then(
            (host) => bump(r.byHost, host),
            (err: unknown) => {
              r.failures++;
              r.firstError ??= err instanceof Error ? err.message : String(err);
            },
          ),
        );
        await new Promise((res) => setTimeout(res, everyMs));
      }
      await Promise.all(jobs);
      say(r);
    } else if (cmd === 'first') {
      const [, host, everyMs, timeoutMs] = line.trim().split(/\s+/);
      say(await firstFrom(target, port, host ?? '', Number(everyMs), Number(timeoutMs)));
    } else if (cmd === 'quit') {
      break;
    }
  }
  for (const h of held) h.sock.destroy();
  process.exit(0);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`holder: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
