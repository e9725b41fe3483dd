// A real Prometheus for tests: Debian's /usr/bin/prometheus started with its own config (one job
// scraping `target` every second), storage in `dir`, listening on a free loopback port; stopped by its
// pid. Queries go through its HTTP API (/api/v1/query).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const PROMETHEUS = '/usr/bin/prometheus';
export const JOB = 'anycastd';

export interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class Prometheus {
  readonly base: string;
  readonly #proc: ChildProcess;
  log = '';

  private constructor(base: string, proc: ChildProcess) {
    this.base = base;
    this.#proc = proc;
    proc.stderr?.on('data', (c: Buffer) => {
      this.log += c.toString();
    });
  }

  static async start(dir: string, target: string): Promise<Prometheus> {
    assert.ok(existsSync(PROMETHEUS), `${PROMETHEUS} missing: scripts/install-deps.sh installs prometheus`);
    const port = await freePort();
    const config = join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: ${JOB}
    static_configs: [{ targets: ['${target}'] }]
`,
    );
    const proc = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    return new Prometheus(`http://127.0.0.1:${port}`, proc);
  }

  async query(q: string): Promise<PromVector[]> {
    const r = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await r.json()) as { status: string; data: { result: PromVector[] } };
    assert.equal(body.status, 'success', q);
    return body.data.result;
  }

  /** Polls `q` until `ok` holds for its result; throws (with Prometheus's log) after `timeoutMs`. */
  async until(q: string, ok: (v: PromVector[]) => boolean, timeoutMs = 20_000): Promise<PromVector[]> {
    const end = performance.now() + timeoutMs;
    for (;;) {
      let v: PromVector[] = [];
      try {
        v = await this.query(q);
      } catch {
        // not ready yet
      }
      if (ok(v)) return v;
      if (performance.now() > end)
        throw new Error(`timed out waiting for ${q}: ${JSON.stringify(v)}\n${this.log}`);
      await sleep(200);
    }
  }

  /** The single value of `q`, as a string ('' when there is none). */
  async value(q: string): Promise<string> {
    return (await this.query(q))[0]?.value[1] ?? '';
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    process.kill(p.pid, 'SIGTERM');
    await exited;
  }
}
