// The cluster endpoint's connections below HTTP (server.ts is above): every accepted socket arrives paused
// and is admitted by the gate (admission.ts) or destroyed before a byte of it is read — counted, and logged
// at most once per address per interval. An admitted socket is handed to the HTTP server with a deadline
// for its next request's line and headers (HEADERS_TIMEOUT_MS from the accept, or from the end of the last
// reply: a slow or idle client is dropped). What the HTTP parser cannot read is answered 400 (431 for
// headers over MAX_HEADER_BYTES) naming the parser's error, and the connection is closed. The deadlines run
// on the injected clock.

import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock, TimerHandle } from '../clock.js';
import { answerClientError, HTTP_HEADERS_TOO_LARGE } from '../http/client-error.js';
import { LimitedLog } from '../log/limited-log.js';
import { socketAddress } from '../netlink/ip.js';
import type { ConnectionGate } from './admission.js';
import type { ClusterCounters, RequestRefusal } from './counters.js';
import { HEADERS_TIMEOUT_MS, LOG_INTERVAL_MS, MAX_HEADER_BYTES, MAX_LOG_KEYS } from './limits.js';
import type { ClusterLog } from './log.js';

export interface ConnectionsOptions {
  http: Server;
  gate: ConnectionGate;
  counters: ClusterCounters;
  log: ClusterLog;
  clock: Clock;
  /** A request-level refusal on a connection (a timeout, bytes the parser refused): counted by the server. */
  refused: (reason: RequestRefusal, address: string, detail: string) => void;
}

interface Conn {
  address: string;
  deadline: TimerHandle | null;
}

export class EndpointConnections {
  readonly #o: ConnectionsOptions;
  readonly #conns = new Map<Socket, Conn>();
  readonly #refusedLog: LimitedLog;

  constructor(opts: ConnectionsOptions) {
    this.#o = opts;
    this.#refusedLog = new LimitedLog(
      (fields) => opts.log('warn', 'cluster-connection-refused', fields),
      LOG_INTERVAL_MS,
      MAX_LOG_KEYS,
      opts.clock,
    );
    opts.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
      this.#clientError(err, socket),
    );
  }

  /** A socket the listener accepted (paused): admitted and handed to HTTP, or destroyed unread. */
  accept(socket: Socket, port: number): void {
    const address = socketAddress(socket.remoteAddress);
    const refused = this.#o.gate.admit(address);
    if (refused) {
      socket.destroy();
      this.#o.counters.connectionsRefused[refused]++;
      this.#refusedLog.note(address, { reason: refused, address, port });
      return;
    }
    const conn: Conn = { address, deadline: null };
    this.#conns.set(socket, conn);
    this.#o.counters.connectionsOpen = this.#o.gate.open;
    socket.once('close', () => {
      this.#o.clock.clearTimeout(conn.deadline);
      this.#conns.delete(socket);
      this.#o.gate.release(address);
      this.#o.counters.connectionsOpen = this.#o.gate.open;
    });
    this.#arm(socket);
    this.#o.http.emit('connection', socket);
    socket.resume();
  }

  /** The configured address a connection was admitted for. */
  address(socket: Socket): string {
    return this.#conns.get(socket)?.address ?? socketAddress(socket.remoteAddress);
  }

  /** A request's headers arrived: no deadline while it is served (a long poll is bounded by its wait). */
  requestStarted(socket: Socket): void {
    const conn = this.#conns.get(socket);
    if (!conn) return;
    this.#o.clock.clearTimeout(conn.deadline);
    conn.deadline = null;
  }

  /** The reply went out: the next request must come within the deadline. */
  requestDone(socket: Socket): void {
    this.#arm(socket);
  }

  close(): void {
    for (const socket of this.#conns.keys()) socket.destroy();
    this.#refusedLog.close();
  }

  #arm(socket: Socket): void {
    const conn = this.#conns.get(socket);
    if (!conn) return;
    this.#o.clock.clearTimeout(conn.deadline);
    conn.deadline = this.#o.clock.setTimeout(
      () => {
        this.#o.refused('timeout', conn.address, `no complete request within ${HEADERS_TIMEOUT_MS} ms`);
        socket.destroy();
      },
      HEADERS_TIMEOUT_MS,
      { unref: true },
    );
  }

  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const code = err.code ?? 'ERR';
    const address = this.address(socket);
    const status = answerClientError(socket, code, (st) =>
      st === HTTP_HEADERS_TOO_LARGE
        ? `headers over ${MAX_HEADER_BYTES} bytes: ${code}\n`
        : `bad request: ${code}\n`,
    );
    if (status !== null) this.#o.refused('malformed', address, code);
  }
}
