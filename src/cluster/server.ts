// The agent's state endpoint for the other agents: HTTP/1.1 on the host addresses only (node.host.ipv4 and
// ipv6 at cluster.port — never a wildcard, never a VIP), bound with IP_FREEBIND so it listens before the
// agent has put those addresses on lo and takes connections from the moment they are there.
//   GET /v1/instances?since=T&wait=MS (signed, src/cluster/auth.ts)
//     → 200 this host's reports of the services the client's host runs, signed over the request's nonce:
//       at once when T is not the current token or MS is 0, else as soon as the token changes or after MS
//       (≤ MAX_WAIT_MS) with the same token.
// Every bound is in limits.ts. In order, before anything else is spent on a client:
// 1. accept: a source that is not a configured host, or over its per-address or the total cap, is closed
//    before a byte is read (sockets arrive paused), counted, and logged once per address per interval.
// 2. the request line and headers must arrive within HEADERS_TIMEOUT_MS and fit MAX_HEADER_BYTES;
//    garbage gets 400 (431 for oversized headers) naming the parser's error, and the connection closes.
// 3. 405 a method other than GET, 400 a target that is not a path, 404 another path, 400 a body;
// 4. 401 an unsigned, malformed, expired or badly signed request — before any poll is held;
// 5. 400 a bad query; 429 a poll answered at once with what that address already has within
//    MIN_IDLE_POLL_MS of its last answer, or more than MAX_WAITERS_PER_ADDRESS polls held for it.
// The handler is total: an exception in it is answered 500 and counted; nothing received ends the process.
// Every wait and every time it reads (deadlines, held polls, the idle interval, the signatures' stamps)
// comes from the injected clock.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIPv6, type Server as NetServer } from 'node:net';
import { type Clock, systemClock } from '../clock.js';
import type { ClusterKeys } from '../config/cluster-keys.js';
import { LimitedLog } from '../log/limited-log.js';
import { listenTcp } from '../native/tcp.js';
import { ConnectionGate, type PeerUse } from './admission.js';
import { signReply, verifyRequest } from './auth.js';
import type { ReportBoard } from './board.js';
import { EndpointConnections } from './connections.js';
import type { ClusterCounters, RequestRefusal } from './counters.js';
import {
  HEADERS_TIMEOUT_MS,
  LOG_INTERVAL_MS,
  MAX_HEADER_BYTES,
  MAX_LOG_KEYS,
  MAX_WAITERS_PER_ADDRESS,
  MIN_IDLE_POLL_MS,
} from './limits.js';
import type { ClusterLog } from './log.js';
import { checkRequestLine, parseQuery, type Refusal } from './request.js';

export interface StateServerOptions {
  board: ReportBoard;
  port: number;
  /** The addresses to listen on: this host's addresses. */
  addresses: readonly string[];
  /** Whether a source address is a configured host's (checked at accept). */
  allowed: (address: string) => boolean;
  /** The services whose reports the host at `address` is sent (those it has an instance of). */
  servicesFor: (address: string) => ReadonlySet<string>;
  /** The keys in force (a reload swaps them). */
  keys: () => ClusterKeys;
  /** The cap on all connections (it follows the config). */
  maxConnections: () => number;
  counters: ClusterCounters;
  log: ClusterLog;
  /** Default: the system clock. */
  clock?: Clock;
}

const RETRY_AFTER_S = String(Math.ceil(MIN_IDLE_POLL_MS / 1000));

export class StateServer {
  readonly #o: StateServerOptions;
  readonly #http: Server;
  readonly #gate: ConnectionGate;
  readonly #conns: EndpointConnections;
  readonly #listeners: NetServer[] = [];
  readonly #errorLog: LimitedLog;
  readonly #clock: Clock;
  #port = 0;

  private constructor(opts: StateServerOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#gate = new ConnectionGate({ allowed: opts.allowed, maxTotal: opts.maxConnections });
    this.#errorLog = new LimitedLog(
      (fields) => opts.log('warn', 'cluster-request-refused', fields),
      LOG_INTERVAL_MS,
      MAX_LOG_KEYS,
      this.#clock,
    );
    this.#http = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => this.#onRequest(req, res));
    this.#http.keepAliveTimeout = HEADERS_TIMEOUT_MS;
    this.#conns = new EndpointConnections({
      http: this.#http,
      gate: this.#gate,
      counters: opts.counters,
      log: opts.log,
      clock: this.#clock,
      refused: (reason, address, detail) => this.#count(reason, address, detail),
    });
  }

  /** Listens on every address of `opts.addresses`; rejects with the first listen error (none left open). */
  static async start(opts: StateServerOptions): Promise<StateServer> {
    const self = new StateServer(opts);
    try {
      for (const address of opts.addresses) {
        const l = await listenTcp(
          {
            family: isIPv6(address) ? 6 : 4,
            localAddress: address,
            port: self.#port || opts.port,
            freebind: true,
            pauseOnConnect: true,
            onError: (error) => self.#errorLog.note('accept', { reason: 'accept-failed', error }),
          },
          (socket) => self.#conns.accept(socket, self.#port),
        );
        self.#listeners.push(l.server);
        self.#port = l.port;
      }
    } catch (err) {
      await self.close();
      throw err;
    }
    return self;
  }

  get port(): number {
    return this.#port;
  }

  /** Connections admitted and open now. */
  get connections(): number {
    return this.#gate.open;
  }

  /** Forgets per-address state of addresses a reload removed. */
  prune(): void {
    this.#gate.prune();
  }

  async close(): Promise<void> {
    this.#o.board.wakeAll();
    const closed = this.#listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    this.#conns.close();
    this.#errorLog.close();
    await Promise.all(closed);
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    this.#conns.requestStarted(socket);
    res.once('finish', () => this.#conns.requestDone(socket));
    try {
      this.#serve(req, res);
    } catch (err) {
      this.#count('internal', this.#conns.address(socket), String(err));
      this.#o.log('error', 'cluster-request-failed', { reason: 'internal-error', error: err });
      if (!res.headersSent)
        text(res, 500, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      else res.destroy();
    }
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const address = this.#conns.address(req.socket);
    const refusal = this.#poll(req, res, address);
    if (refusal) this.#refuse(res, address, refusal);
  }

  /** Answers or holds the poll; returns the refusal instead when it is not served. */
  #poll(req: IncomingMessage, res: ServerResponse, address: string): Refusal | null {
    const bad = checkRequestLine(req);
    if (bad) return bad;
    const target = req.url!;
    const auth = verifyRequest(this.#o.keys(), 'GET', target, req.headers, this.#clock.wallNow());
    if (!auth.ok)
      return {
        status: 401,
        reason: 'unauthorized',
        message: `request signature: ${auth.reason}: ${auth.detail}`,
      };
    const q = parseQuery(target);
    if ('status' in q) return q;
    const peer = this.#gate.peer(address);
    if (!peer) return { status: 500, reason: 'internal', message: 'connection not admitted' };
    const nonce = auth.nonce!;
    const board = this.#o.board;
    if (q.since !== board.token || q.wait === 0) {
      if (peer.lastToken === board.token && this.#clock.now() - peer.lastAnsweredAt < MIN_IDLE_POLL_MS) {
        res.setHeader('retry-after', RETRY_AFTER_S);
        return {
          status: 429,
          reason: 'too-soon',
          message: `nothing new since the last answer to ${address}: poll with since=<token>&wait=<ms>`,
        };
      }
      this.#answer(res, address, peer, nonce);
      return null;
    }
    if (peer.waiters >= MAX_WAITERS_PER_ADDRESS)
      return {
        status: 429,
        reason: 'too-many-waiters',
        message: `${MAX_WAITERS_PER_ADDRESS} polls from ${address} are already held`,
      };
    this.#hold(res, address, peer, nonce, q.wait);
    return null;
  }

  /** Holds a long poll until the board changes or `wait` ms passed. */
  #hold(res: ServerResponse, address: string, peer: PeerUse, nonce: string, wait: number): void {
    const board = this.#o.board;
    peer.waiters++;
    let held = true;
    const release = (): void => {
      if (held) peer.waiters--;
      held = false;
    };
    const pending = board.changed(wait);
    res.once('close', () => {
      pending.cancel();
      release();
    });
    void pending.done.then(() => {
      release();
      if (res.writableEnded || res.destroyed) return;
      try {
        this.#answer(res, address, peer, nonce);
      } catch (err) {
        this.#o.log('error', 'cluster-request-failed', { reason: 'internal-error', error: err });
        res.destroy();
      }
    });
  }

  #answer(res: ServerResponse, address: string, peer: PeerUse, nonce: string): void {
    const reply = this.#o.board.replyFor(this.#o.servicesFor(address));
    const body = Buffer.from(JSON.stringify(reply));
    peer.lastToken = reply.token;
    peer.lastAnsweredAt = this.#clock.now();
    res.writeHead(200, {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'content-length': body.length,
      ...signReply(this.#o.keys(), nonce, body, this.#clock.wallNow()),
    });
    res.end(body);
  }

  #refuse(res: ServerResponse, address: string, r: Refusal): void {
    this.#count(r.reason, address, r.message);
    res.setHeader('connection', 'close');
    text(res, r.status, r.message);
  }

  #count(reason: RequestRefusal, address: string, detail: string): void {
    this.#o.counters.requestsRefused[reason]++;
    this.#errorLog.note(address, { reason, address, detail });
  }
}

function text(res: ServerResponse, status: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}
