// The lab's service: a tiny TCP + HTTP + UDP server that answers with the id of the host it runs on,
// so a client can tell which instance served it. Run inside a host namespace:
//   ip netns exec <ns> node --import tsx lab/service.ts --id h1 --bind 203.0.113.10 --bind 2001:db8:ffff::10
// TCP (default 8000): sends "<id>\n" on accept, then "<id>\n" again for every line received, so a
//   long-lived connection can ask where it is at any time; stays open until the client closes.
// HTTP (default 8080): any request → 200, body "<id>\n", header X-Host-Id.
// UDP (default 8053): every datagram → one datagram "<id>\n".
// Prints "ready" on stdout once every socket listens; exits 0 on SIGTERM/SIGINT.
// Failure modes, for the hung/failing-service scenarios (SIGSTOP is the third: the kernel still
// completes handshakes, nothing is accepted):
//   SIGUSR1 → 'error': HTTP answers 500 (TCP and UDP as usual);
//   SIGUSR2 → 'mute': connections are accepted and requests read, never answered (TCP: no greeting);
//   SIGHUP  → 'ok' again (the connections held while mute are closed).

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, isIPv6, type Server as TcpServer } from 'node:net';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

export const READY_LINE = 'ready';

export interface ServiceOptions {
  id: string;
  bind: readonly string[];
  tcpPort: number;
  httpPort: number;
  udpPort: number;
}

export interface RunningService {
  close(): Promise<void>;
  setMode(mode: ServiceMode): void;
}

export type ServiceMode = 'ok' | 'error' | 'mute';
/** The signal that puts a running service into each mode. */
export const MODE_SIGNALS: Readonly<Record<ServiceMode, NodeJS.Signals>> = {
  ok: 'SIGHUP',
  error: 'SIGUSR1',
  mute: 'SIGUSR2',
};
const HTTP_ERROR = 500;

function listenTcp(server: TcpServer | HttpServer, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function bindUdp(sock: UdpSocket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port, address: host }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

/** Start the three servers on every bind address. */
export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const answer = `${opts.id}\n`;
  const closers: (() => Promise<void>)[] = [];
  let mode: ServiceMode = 'ok';
  /** Connections held unanswered while mute (closed when the mode changes). */
  const held = new Set<{ destroy(): unknown }>();
  const hold = (conn: { destroy(): unknown; once(ev: 'close', f: () => void): unknown }): void => {
    held.add(conn);
    conn.once('close', () => held.delete(conn));
  };
  for (const host of opts.bind) {
    const tcp = createTcpServer((conn) => {
      conn.setNoDelay(true);
      conn.on('error', () => conn.destroy());
      if (mode === 'mute') {
        conn.resume();
        hold(conn);
        return;
      }
      conn.write(answer);
      let pending = '';
      conn.on('data', (chunk) => {
        if (mode === 'mute') return;
        pending += chunk.toString('latin1');
        let nl = pending.indexOf('\n');
        while (nl >= 0) {
          conn.write(answer);
          pending = pending.slice(nl + 1);
          nl = pending.indexOf('\n');
        }
      });
    });
    await listenTcp(tcp, opts.tcpPort, host);
    closers.push(() => new Promise((r) => tcp.close(() => r())));

    const http = createHttpServer((req, res) => {
      if (mode === 'mute') {
        hold(req.socket);
        return;
      }
      res.writeHead(mode === 'error' ? HTTP_ERROR : 200, {
        'content-type': 'text/plain',
        'x-host-id': opts.id,
      });
      res.end(answer);
    });
    await listenTcp(http, opts.httpPort, host);
    closers.push(() => {
      http.closeAllConnections();
      return new Promise((r) => http.close(() => r()));
    });

    const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    udp.on('message', (_msg, rinfo) => udp.send(answer, rinfo.port, rinfo.address));
    await bindUdp(udp, opts.udpPort, host);
    closers.push(() => new Promise((r) => udp.close(() => r())));
  }
  return {
    close: async () => void (await Promise.all(closers.map((c) => c()))),
    setMode: (m) => {
      mode = m;
      for (const c of held) c.destroy();
      held.clear();
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      id: { type: 'string' },
      bind: { type: 'string', multiple: true },
      tcp: { type: 'string', default: String(SERVICE_PORTS.tcp) },
      http: { type: 'string', default: String(SERVICE_PORTS.http) },
      udp: { type: 'string', default: String(SERVICE_PORTS.udp) },
    },
  });
  if (!values.id || !values.bind || values.bind.length === 0) {
    process.stderr.write(
      'usage: service.ts --id <host id> --bind <addr> [--bind <addr>] [--tcp p --http p --udp p]\n',
    );
    process.exit(2);
  }
  const svc = await startService({
    id: values.id,
    bind: values.bind,
    tcpPort: Number(values.tcp),
    httpPort: Number(values.http),
    udpPort: Number(values.udp),
  });
  const stop = (): void => {
    // Open TCP connections are not waited for: a stopped service is a dead instance.
    svc.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  for (const [m, sig] of Object.entries(MODE_SIGNALS)) process.on(sig, () => svc.setMode(m as ServiceMode));
  process.stdout.write(`${READY_LINE}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: unknown) => {
    process.stderr.write(`service: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
