// The /metrics HTTP endpoint: GET /metrics serves the exposition text of one AnycastdMetrics registry
// (text format 0.0.4); every other path is 404 and every other method 405. Listens on the configured
// address only (default 127.0.0.1:9469, see src/config/schema.ts).
//
// Whoever reaches the address is untrusted (by default: any local user), so what one client can make the
// agent hold is bounded: MAX_CONNECTIONS connections, the oldest idle one closed to make room for a new one
// (connection-cap.ts); the request head within HEADERS_TIMEOUT_MS and the whole request within
// REQUEST_TIMEOUT_MS (Node checks every TIMEOUT_CHECK_MS), a connection with no traffic for
// IDLE_TIMEOUT_MS closed, keep-alive KEEP_ALIVE_TIMEOUT_MS, a request head of MAX_HEADER_BYTES at most.
// A request Node cannot parse gets 400 (431 for an oversized head, 408 for a timeout) and is closed; a
// request target that is neither origin-form nor a parseable absolute URI (RFC 9112 §3.2) gets 400. The
// handler is total: whatever it meets becomes a 500, never an exception out of the server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { AnycastdError } from '../errors.js';
import { answerClientError, HTTP_BAD_REQUEST } from '../http/client-error.js';
import { type CapStats, ConnectionCap } from './connection-cap.js';

export const METRICS_PATH = '/metrics';
/** Connections held at most (a scrape needs one; Prometheus keeps one per target). */
export const MAX_CONNECTIONS = 64;
export const HEADERS_TIMEOUT_MS = 5_000;
export const REQUEST_TIMEOUT_MS = 10_000;
/** A connection with no traffic either way for this long is closed (a client that stops reading). */
export const IDLE_TIMEOUT_MS = 5_000;
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** How often Node looks for connections past the header and request timeouts. */
export const TIMEOUT_CHECK_MS = 500;
/** Bytes of request line and headers accepted (a scrape's are a few hundred). */
export const MAX_HEADER_BYTES = 8 * 1024;

const HTTP_OK = 200;
const HTTP_NOT_FOUND = 404;
const HTTP_METHOD_NOT_ALLOWED = 405;
const HTTP_INTERNAL_ERROR = 500;

/** What the endpoint serves (AnycastdMetrics). */
export interface Exposition {
  text(): Promise<string>;
  readonly registry: { readonly contentType: string };
}

/** The bounds above, each overridable (tests use short timeouts). */
export interface MetricsServerLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  timeoutCheckMs: number;
  maxHeaderBytes: number;
}

export const DEFAULT_LIMITS: Readonly<MetricsServerLimits> = {
  maxConnections: MAX_CONNECTIONS,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  requestTimeoutMs: REQUEST_TIMEOUT_MS,
  idleTimeoutMs: IDLE_TIMEOUT_MS,
  keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
  timeoutCheckMs: TIMEOUT_CHECK_MS,
  maxHeaderBytes: MAX_HEADER_BYTES,
};

export interface MetricsServerStats extends CapStats {
  /** Requests Node could not parse or that timed out (answered 4xx and closed). */
  clientErrors: number;
  /** Requests whose handling failed (answered 500). */
  handlerErrors: number;
}

/** Splits "host:port" or "[v6]:port". */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 0xffff))
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `metrics listen address ${listen}: expected host:port`);
  return { host: m[1]!, port };
}

/** The path of a request target: origin-form, or absolute-form parsed as a URL; null for anything else. */
export function targetPath(target: string): string | null {
  if (target.startsWith('/')) return target.split('?')[0]!;
  try {
    return new URL(target).pathname;
  } catch {
    return null;
  }
}

export class MetricsServer {
  readonly #server: Server;
  readonly #cap: ConnectionCap;
  readonly #errors: { client: number; handler: number };

  private constructor(server: Server, cap: ConnectionCap, errors: { client: number; handler: number }) {
    this.#server = server;
    this.#cap = cap;
    this.#errors = errors;
  }

  static async listen(
    metrics: Exposition,
    listen: string,
    limits: Partial<MetricsServerLimits> = {},
  ): Promise<MetricsServer> {
    const { host, port } = parseListen(listen);
    const l = { ...DEFAULT_LIMITS, ...limits };
    const errors = { client: 0, handler: 0 };
    const fail = (res: ServerResponse, err: unknown): void => {
      errors.handler++;
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      res.writeHead(HTTP_INTERNAL_ERROR, { 'content-type': 'text/plain' }).end(`${describe(err)}\n`);
    };
    const server = createServer(
      {
        maxHeaderSize: l.maxHeaderBytes,
        headersTimeout: l.headersTimeoutMs,
        requestTimeout: l.requestTimeoutMs,
        keepAliveTimeout: l.keepAliveTimeoutMs,
        connectionsCheckingInterval: l.timeoutCheckMs,
      },
      (req, res) => {
        try {
          serve(metrics, req, res, fail);
        } catch (err) {
          fail(res, err);
        }
      },
    );
    server.timeout = l.idleTimeoutMs;
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
      errors.client++;
      answerClientError(socket, err.code);
    });
    const cap = new ConnectionCap(server, l.maxConnections);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MetricsServer(server, cap, errors);
  }

  /** The bound address (the port when 0 was asked for). */
  get address(): { host: string; port: number } {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  get stats(): MetricsServerStats {
    return { ...this.#cap.stats, clientErrors: this.#errors.client, handlerErrors: this.#errors.handler };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

function serve(
  metrics: Exposition,
  req: IncomingMessage,
  res: ServerResponse,
  fail: (res: ServerResponse, err: unknown) => void,
): void {
  const path = targetPath(req.url ?? '');
  if (path === null) {
    res
      .writeHead(HTTP_BAD_REQUEST, { 'content-type': 'text/plain', connection: 'close' })
      .end('bad request\n');
    return;
  }
  if (path !== METRICS_PATH) {
    res.writeHead(HTTP_NOT_FOUND, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(HTTP_METHOD_NOT_ALLOWED, { allow: 'GET, HEAD' }).end();
    return;
  }
  metrics
    .text()
    .then((text) => {
      if (!res.destroyed) res.writeHead(HTTP_OK, { 'content-type': metrics.registry.contentType }).end(text);
    })
    .catch((err: unknown) => fail(res, err));
}

/** The error's message, whatever was thrown. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'internal error';
  }
}
