// One real etcd (Debian's etcd-server, /usr/bin/etcd) for tests: a single member in a temp dir on
// 127.0.0.1 random ports, plain gRPC (loopback), started and stopped by pid. `stop` then `start` keeps
// the data dir (leases and keys survive, as after a member restart); `freeze`/`thaw` (SIGSTOP/SIGCONT)
// make it unreachable without a restart. The 3-member cluster with mutual TLS is lab/etcd.ts.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitGone } from './process-gone.js';
import { waitFor } from './wait-for.js';

const ETCD = '/usr/bin/etcd';
const READY_MS = 15_000;
const STOP_MS = 5_000;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface EtcdSingle {
  endpoint: string;
  dir: string;
  readonly pid: number;
  /** Starts it again on the same ports and data (after stop). */
  start(): Promise<void>;
  /** SIGTERM, waits until it is gone. */
  stop(): Promise<void>;
  freeze(): void;
  thaw(): void;
  /** Stops it and removes its dir. */
  close(): Promise<void>;
}

export async function startEtcdSingle(): Promise<EtcdSingle> {
  const dir = mkdtempSync(join(tmpdir(), 'etcdc-'));
  const client = await freePort();
  const peer = await freePort();
  const endpoint = `http://127.0.0.1:${client}`;
  let child: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    child = spawn(
      ETCD,
      [
        '--name=s1',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=${endpoint}`,
        `--advertise-client-urls=${endpoint}`,
        `--listen-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
        `--initial-cluster=s1=http://127.0.0.1:${peer}`,
        '--log-level=error',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    await waitFor(
      async () => {
        const r = await fetch(`${endpoint}/health`).catch(() => null);
        return r?.ok ? ((await r.json()) as { health: string }).health === 'true' : false;
      },
      { timeoutMs: READY_MS, intervalMs: 50, what: `etcd on ${endpoint}` },
    );
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c?.pid) return;
    process.kill(c.pid, 'SIGCONT');
    process.kill(c.pid, 'SIGTERM');
    if (!(await waitGone(c.pid, STOP_MS))) process.kill(c.pid, 'SIGKILL');
  };
  await start();
  return {
    endpoint,
    dir,
    get pid() {
      return child?.pid ?? 0;
    },
    start,
    stop,
    freeze: () => child?.pid && process.kill(child.pid, 'SIGSTOP'),
    thaw: () => child?.pid && process.kill(child.pid, 'SIGCONT'),
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  } as EtcdSingle;
}
