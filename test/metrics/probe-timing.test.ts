// Check durations recorded around the real probes: a TCP check of a listening and of a closed port,
// through the probe factory the health layer takes, lands in the histogram of its service, instance
// and check.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { timedProbeFor } from '../../src/metrics/probe-timing.js';
import { find, parseExposition, value } from './exposition.js';
import { testConfig } from './fixture.js';

const MS_PER_SECOND = 1000;
/** Rounding of summing two doubles in another order. */
const FLOAT_SLACK = 1e-9;

test('each probe run is observed in anycastd_health_check_duration_seconds', async (t) => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const port = (server.address() as { port: number }).port;
  const cfg = testConfig();
  const web = cfg.services[0]!;
  const svc = {
    ...web,
    instances: [{ ...web.instances[0]!, host: { ipv4: '127.0.0.1', ipv6: null } }, ...web.instances.slice(1)],
    checks: [
      { ...web.checks[0]!, type: 'tcp' as const, port, watchSocket: false, timeoutMs: 500 },
      web.checks[1]!,
    ],
  } as typeof web;
  const m = new AnycastdMetrics({}, { version: '0', node: 'h1' }, cfg);
  const probeFor = timedProbeFor(m, svc);
  const probe = probeFor(svc.checks[0]!, '127.0.0.1');
  const runs = [await probe(new AbortController().signal), await probe(new AbortController().signal)];
  assert.deepEqual(
    runs.map((r) => r.ok),
    [true, true],
  );
  const e = parseExposition(await m.text());
  const labels = { service: 'web', instance_id: 'h1', check: 'tcp#0' };
  assert.equal(value(e, 'anycastd_health_check_duration_seconds_count', labels), 2);
  const sum = value(e, 'anycastd_health_check_duration_seconds_sum', labels);
  // what the probes measured, each run once, in seconds (the histogram adds nothing of its own)
  const measured = runs.reduce((a, r) => a + r.durationMs, 0) / MS_PER_SECOND;
  assert.ok(measured > 0, `the probes measured their runs: ${measured}`);
  assert.ok(Math.abs(sum - measured) < FLOAT_SLACK, `histogram sum ${sum} = the runs' ${measured}`);
  assert.equal(find(e, 'anycastd_health_check_duration_seconds_count', { check: 'http#1' })[0]?.value, 0);
});
