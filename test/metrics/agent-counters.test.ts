// The agent's own counters on an AnycastdMetrics registry, read at each scrape from the log limiter and
// the resource-fault counter (real ones, fed records and faults): every kind at 0 from the start, the
// values follow the sources, the names follow the Prometheus rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeRecord } from '../../src/agent/log.js';
import { LogLimiter } from '../../src/agent/log-limit.js';
import { RESOURCE_KINDS } from '../../src/health/agent-fault.js';
import { ResourceFaults } from '../../src/health/resource-faults.js';
import { defineAgentCounters } from '../../src/metrics/agent-counters.js';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { parseExposition, value } from './exposition.js';
import { testConfig } from './fixture.js';

test('anycastd_log_records_suppressed_total and anycastd_agent_resource_faults_total follow their sources', async () => {
  const metrics = new AnycastdMetrics({}, { version: '0.1.0', node: 'h1' }, testConfig());
  const logs = new LogLimiter(() => {}, { perKey: 1 });
  const faults = new ResourceFaults(() => {});
  defineAgentCounters(metrics.registry, {
    logSuppressed: () => logs.suppressed,
    resourceFaults: () => faults.counts,
  });
  let e = parseExposition(await metrics.text());
  assert.equal(e.types.get('anycastd_log_records_suppressed_total'), 'counter');
  assert.equal(e.types.get('anycastd_agent_resource_faults_total'), 'counter');
  for (const kind of RESOURCE_KINDS)
    assert.equal(value(e, 'anycastd_agent_resource_faults_total', { kind }), 0);
  for (let i = 0; i < 10; i++)
    logs.sink(makeRecord('info', 'bgp-connection-refused', { address: '192.0.2.1' }));
  faults.report({ by: 'agent', kind: 'emfile' }, {});
  faults.report({ by: 'agent', kind: 'emfile' }, {});
  e = parseExposition(await metrics.text());
  assert.equal(value(e, 'anycastd_log_records_suppressed_total', { event: 'bgp-connection-refused' }), 9);
  assert.equal(value(e, 'anycastd_agent_resource_faults_total', { kind: 'emfile' }), 2);
  logs.sink(makeRecord('info', 'bgp-connection-refused', { address: '192.0.2.1' }));
  e = parseExposition(await metrics.text());
  assert.equal(value(e, 'anycastd_log_records_suppressed_total', { event: 'bgp-connection-refused' }), 10);
  logs.close();
});
