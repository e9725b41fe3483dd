// A real Prometheus (Debian's /usr/bin/prometheus) scrapes the metrics server every second; the
// server is fed by a real Dataplane whose program runs packets through BPF_PROG_TEST_RUN. Queries over
// Prometheus's HTTP API show the target up, every labelled series present from the first scrape at 0,
// and the packet counters rising between two scrapes as packets flow.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readDataplaneMetrics } from '../../src/metrics/dataplane-source.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { MetricsServer } from '../../src/metrics/server.js';
import { flowFrame } from '../steer/packets.js';
import { CLIENT4, openTestbed, WEB_VIP } from './fixture.js';
import { JOB, Prometheus } from './prometheus.js';

test('a real Prometheus scrapes the series and sees packet counters rise', {}, async (t) => {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'acd-prom-'));
  const bed = openTestbed();
  const metrics = new AnycastdMetrics(
    {
      dataplane: () =>
        readDataplaneMetrics(bed.dp, bed.vips, [{ interface: 'eth0', mode: 'native', attached: true }], 0),
    },
    { version: '0.1.0', node: 'h1' },
    bed.config,
  );
  const server = await MetricsServer.listen(metrics, '127.0.0.1:0');
  const prom = await Prometheus.start(dir, `127.0.0.1:${server.address.port}`);
  t.after(async () => {
    await prom.stop();
    await server.close();
    bed.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const sel = `anycastd_dataplane_received_packets_total{vip="${WEB_VIP}",service="web",protocol="tcp",port="80"}`;

  await prom.until(`up{job="${JOB}"}`, (v) => v[0]?.value[1] === '1');
  const first = await prom.until(sel, (v) => v.length === 1);
  assert.equal(first[0]!.value[1], '0', 'the series exists at 0 before any packet');
  assert.equal(await prom.value('count(anycastd_health_transitions_total)'), String(4 * 8));
  assert.equal(await prom.value('count(anycastd_bgp_messages_sent_total)'), String(2 * 5));
  assert.equal(await prom.value('anycastd_xdp_attached{interface="eth0"}'), '1');
  const checks = await prom.query('anycastd_health_check_up{service="web"}');
  assert.deepEqual(checks.map((v) => v.metric.instance_id).sort(), ['h1', 'h1', 'h2', 'h2']);
  assert.ok(checks.every((v) => v.metric.exported_instance === undefined && v.metric.job === JOB));

  const push = (n: number, base0: number): void => {
    for (let i = 0; i < n; i++)
      bed.dp.program.testRun({
        data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport: base0 + i, dport: 80 }),
      });
  };
  push(25, 20_000);
  await prom.until(sel, (v) => v[0]?.value[1] === '25');
  push(25, 30_000);
  const later = await prom.until(sel, (v) => v[0]?.value[1] === '50');
  assert.ok(later[0]!.value[0] > first[0]!.value[0], 'a later scrape');
  assert.equal(
    await prom.value(`sum(anycastd_dataplane_packets_total{vip="${WEB_VIP}",action=~"local|forwarded"})`),
    '50',
    'every packet was passed locally or forwarded',
  );
  const inc = await prom.until(`increase(${sel}[1m])`, (v) => Number(v[0]?.value[1]) > 0);
  assert.ok(Number(inc[0]!.value[1]) >= 25, 'Prometheus sees the counter rise');
  assert.ok(Number(await prom.value('anycastd_dataplane_flow_table_fill_ratio')) > 0);
  assert.ok(performance.now() - started < 40_000);
});
