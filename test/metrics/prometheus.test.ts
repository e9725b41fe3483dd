// A real Prometheus (Debian's /usr/bin/prometheus) scrapes the metrics server every second; the
// server is fed by a real Dataplane whose program runs packets through BPF_PROG_TEST_RUN. Queries over
// Prometheus's HTTP API show the target up, every labelled series present from the first scrape at 0,
// and the packet counters rising between two scrapes as packets flow.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readDataplaneMetrics } from '../../src/metrics/dataplane-source.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { MetricsServer } from '../../src/metrics/server.js';
import { flowFrame } from '../steer/packets.js';
import { CLIENT4, openTestbed, WEB_VIP } from './fixture.js';

const PROMETHEUS = '/usr/bin/prometheus';
const DEADLINE_MS = 25_000;

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

interface PromVector {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(base: string, q: string): Promise<PromVector[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = (await r.json()) as { status: string; data: { result: PromVector[] } };
  assert.equal(body.status, 'success', q);
  return body.data.result;
}

/** Polls `q` until `ok` holds for its result (or the deadline passes). */
async function until(
  base: string,
  q: string,
  ok: (v: PromVector[]) => boolean,
  started: number,
): Promise<PromVector[]> {
  for (;;) {
    let v: PromVector[] = [];
    try {
      v = await query(base, q);
    } catch {
      // not ready yet
    }
    if (ok(v)) return v;
    if (performance.now() - started > DEADLINE_MS)
      throw new Error(`timed out waiting for ${q}: ${JSON.stringify(v)}`);
    await sleep(200);
  }
}

test('a real Prometheus scrapes the series and sees packet counters rise', {
  skip: !existsSync(PROMETHEUS),
}, async (t) => {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'acd-prom-'));
  const bed = openTestbed();
  let prom: ChildProcess | undefined;
  const metrics = new AnycastdMetrics(
    {
      dataplane: () =>
        readDataplaneMetrics(bed.dp, bed.vips, [{ interface: 'eth0', mode: 'native', attached: true }], 0),
    },
    { version: '0.1.0', node: 'h1' },
    bed.config,
  );
  const server = await MetricsServer.listen(metrics, '127.0.0.1:0');
  t.after(async () => {
    if (prom?.pid !== undefined && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once('exit', r));
      process.kill(prom.pid, 'SIGTERM');
      await exited;
    }
    await server.close();
    bed.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: anycastd
    static_configs: [{ targets: ['127.0.0.1:${server.address.port}'] }]
`,
  );
  prom = spawn(
    PROMETHEUS,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let promLog = '';
  prom.stderr?.on('data', (c: Buffer) => {
    promLog += c.toString();
  });
  const base = `http://127.0.0.1:${promPort}`;
  const web = { vip: WEB_VIP, service: 'web', protocol: 'tcp', port: '80' };
  const sel = `anycastd_dataplane_received_packets_total{vip="${web.vip}",service="web",protocol="tcp",port="80"}`;

  await until(base, 'up{job="anycastd"}', (v) => v[0]?.value[1] === '1', started).catch((e: Error) => {
    throw new Error(`${e.message}\n${promLog}`);
  });
  const first = await until(base, sel, (v) => v.length === 1, started);
  assert.equal(first[0]!.value[1], '0', 'the series exists at 0 before any packet');
  assert.equal((await query(base, 'count(anycastd_health_transitions_total)'))[0]?.value[1], String(4 * 8));
  assert.equal((await query(base, 'count(anycastd_bgp_messages_sent_total)'))[0]?.value[1], String(2 * 5));
  assert.equal((await query(base, 'anycastd_xdp_attached{interface="eth0"}'))[0]?.value[1], '1');
  const checks = await query(base, 'anycastd_health_check_up{service="web"}');
  assert.deepEqual(checks.map((v) => v.metric.instance_id).sort(), ['h1', 'h1', 'h2', 'h2']);
  assert.ok(checks.every((v) => v.metric.exported_instance === undefined && v.metric.job === 'anycastd'));

  const push = (n: number, base0: number): void => {
    for (let i = 0; i < n; i++)
      bed.dp.program.testRun({
        data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport: base0 + i, dport: 80 }),
      });
  };
  push(25, 20_000);
  await until(base, sel, (v) => v[0]?.value[1] === '25', started);
  push(25, 30_000);
  const later = await until(base, sel, (v) => v[0]?.value[1] === '50', started);
  assert.ok(later[0]!.value[0] > first[0]!.value[0], 'a later scrape');
  const byAction = await query(
    base,
    `sum(anycastd_dataplane_packets_total{vip="${WEB_VIP}",action=~"local|forwarded"})`,
  );
  assert.equal(byAction[0]?.value[1], '50', 'every packet was passed locally or forwarded');
  const inc = await until(base, `increase(${sel}[1m])`, (v) => Number(v[0]?.value[1]) > 0, started);
  assert.ok(Number(inc[0]!.value[1]) >= 25, 'Prometheus sees the counter rise');
  const fill = await query(base, 'anycastd_dataplane_flow_table_fill_ratio');
  assert.ok(Number(fill[0]?.value[1]) > 0);
  assert.ok(performance.now() - started < 40_000);
});
