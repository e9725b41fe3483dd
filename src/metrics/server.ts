// The /metrics HTTP endpoint: GET /metrics serves the exposition text of one AnycastdMetrics registry
// (text format 0.0.4); every other path is 404 and every other method 405. Listens on the configured
// address only (default 127.0.0.1:9469, see src/config/schema.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnycastdError } from '../errors.js';
import type { AnycastdMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';
const HTTP_OK = 200;
const HTTP_NOT_FOUND = 404;
const HTTP_METHOD_NOT_ALLOWED = 405;
const HTTP_INTERNAL_ERROR = 500;

/** Splits "host:port" or "[v6]:port". */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || !(port >= 0 && port <= 0xffff))
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `metrics listen address ${listen}: expected host:port`);
  return { host: m[1]!, port };
}

export class MetricsServer {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async listen(metrics: AnycastdMetrics, listen: string): Promise<MetricsServer> {
    const { host, port } = parseListen(listen);
    const server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== METRICS_PATH) {
        res.writeHead(HTTP_NOT_FOUND, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(HTTP_METHOD_NOT_ALLOWED, { allow: 'GET, HEAD' }).end();
        return;
      }
      metrics.text().then(
        (text) => res.writeHead(HTTP_OK, { 'content-type': metrics.registry.contentType }).end(text),
        (err: unknown) =>
          res.writeHead(HTTP_INTERNAL_ERROR, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new MetricsServer(server);
  }

  /** The bound address (the port when 0 was asked for). */
  get address(): { host: string; port: number } {
    const a = this.#server.address() as AddressInfo;
    return { host: a.address, port: a.port };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
