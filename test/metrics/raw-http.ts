// Raw TCP clients for the endpoint's hostile-client tests: send bytes and read the status line, hold
// idle connections, trickle a request byte by byte — and say when the server closed each connection.

import { connect, type Socket } from 'node:net';

/** How long a raw exchange waits for the server at most. */
export const RAW_WAIT_MS = 3_000;

export interface RawReply {
  /** The first line the server sent ('' if none). */
  status: string;
  /** Whether the server closed the connection (else the wait ran out). */
  closed: boolean;
  ms: number;
}

/** Connects, writes `chunks` (one every `everyMs`), returns the status line once the server closed or answered. */
export function rawExchange(
  port: number,
  chunks: (string | Buffer)[],
  opts: { everyMs?: number; waitMs?: number; untilClosed?: boolean } = {},
): Promise<RawReply> {
  const started = performance.now();
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = '';
    let timer: NodeJS.Timeout | undefined;
    let trickle: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      clearInterval(trickle);
      s.destroy();
      resolve({ status: got.split('\r\n')[0] ?? '', closed, ms: performance.now() - started });
    };
    timer = setTimeout(() => finish(false), opts.waitMs ?? RAW_WAIT_MS);
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (!opts.untilClosed && got.includes('\r\n\r\n')) finish(false);
    });
    s.on('error', () => {});
    s.on('close', () => finish(true));
    s.once('connect', () => {
      const queue = [...chunks];
      if (!opts.everyMs) {
        for (const c of queue) s.write(c);
        return;
      }
      trickle = setInterval(() => {
        const c = queue.shift();
        if (c === undefined) clearInterval(trickle);
        else if (!s.destroyed) s.write(c);
      }, opts.everyMs);
    });
  });
}

/** `n` idle connections (opened `batch` at a time); `open()` says how many the server has not closed. */
export async function idleFlood(port: number, n: number, batch = 100) {
  const sockets: Socket[] = [];
  const closed = new Set<Socket>();
  for (let i = 0; i < n; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () => {
        const s = connect({ host: '127.0.0.1', port });
        sockets.push(s);
        s.on('error', () => {});
        s.once('close', () => closed.add(s));
        return new Promise<void>((resolve) => {
          s.once('connect', () => resolve());
          s.once('close', () => resolve());
        });
      }),
    );
  }
  return {
    open: () => sockets.length - closed.size,
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}
