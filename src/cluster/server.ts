// The agent's state endpoint for the other agents (src/cluster/): HTTP on every address of this host
// (`[::]` dual stack, `0.0.0.0` if the host has no IPv6) at the cluster port.
//   GET /v1/instances                 → 200 the board's reply at once
//   GET /v1/instances?since=T&wait=MS → long poll: the reply as soon as the token differs from T, or after
//                                       MS (≤ 60 s) with the same token
// Bad input gets a plain-text error naming it: 404 unknown path, 405 a method other than GET/HEAD, 400 a
// bad `wait`, 403 a client address that is not one of the configured hosts (`allowed`) or loopback.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { unmappedV4 } from '../native/ip.js';
import type { ReportBoard } from './board.js';
import { INSTANCES_PATH } from './report.js';

export const MAX_WAIT_MS = 60_000;

export interface StateServerOptions {
  board: ReportBoard;
  port: number;
  /** Whether a client address may read the reports (the hosts of the configured instances). */
  allowed: (address: string) => boolean;
  /** Loopback clients may read too (default true: `curl localhost:9470/v1/instances` on the host). */
  allowLoopback?: boolean;
  /** One address to listen on instead of every address (tests). */
  host?: string;
}

/** The client's address as configured: `::ffff:192.0.2.1` → `192.0.2.1`. */
export function plainAddress(address: string | undefined): string {
  return unmappedV4(address ?? '');
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

export class StateServer {
  readonly #server: Server;
  readonly #opts: StateServerOptions;

  private constructor(server: Server, opts: StateServerOptions) {
    this.#server = server;
    this.#opts = opts;
  }

  /** Listens on `[::]` (or `0.0.0.0` without IPv6) at `port`; rejects with the listen error. */
  static async start(opts: StateServerOptions): Promise<StateServer> {
    let self: StateServer | null = null;
    const server = createServer((req, res) => self?.handle(req, res));
    self = new StateServer(server, opts);
    const listen = (host: string) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: opts.port, ipv6Only: false }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    try {
      await listen(opts.host ?? '::');
    } catch (err) {
      if (opts.host || (err as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT') throw err;
      await listen('0.0.0.0');
    }
    return self;
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a ? a.port : 0;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://agent');
    const refused = this.#refusal(req, url);
    if (refused) {
      text(res, refused.status, refused.message);
      return;
    }
    const since = url.searchParams.get('since');
    const wait = Number(url.searchParams.get('wait') ?? '0');
    const board = this.#opts.board;
    if (since === null || since !== board.token || wait === 0) {
      json(res, board.reply());
      return;
    }
    const pending = board.changed(wait);
    res.on('close', pending.cancel);
    void pending.done.then(() => {
      if (!res.writableEnded && !res.destroyed) json(res, board.reply());
    });
  }

  /** Why a request is refused (status and the text naming what is wrong), or null. */
  #refusal(req: IncomingMessage, url: URL): { status: number; message: string } | null {
    const client = plainAddress(req.socket.remoteAddress);
    if (url.pathname !== INSTANCES_PATH) return { status: 404, message: `no such path: ${url.pathname}` };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return { status: 405, message: `method ${req.method}: use GET` };
    const loopbackOk = (this.#opts.allowLoopback ?? true) && isLoopback(client);
    if (!loopbackOk && !this.#opts.allowed(client))
      return { status: 403, message: `${client} is not the host of a configured instance` };
    const wait = url.searchParams.get('wait') ?? '0';
    if (!/^\d{1,6}$/.test(wait) || Number(wait) > MAX_WAIT_MS)
      return {
        status: 400,
        message: `wait: expected milliseconds 0..${MAX_WAIT_MS}, found ${JSON.stringify(wait)}`,
      };
    return null;
  }

  async close(): Promise<void> {
    this.#opts.board.wakeAll();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}

function text(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
