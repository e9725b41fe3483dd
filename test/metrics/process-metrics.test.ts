// The process's standard families and the last-reload gauges, read back from the exposition: the values
// are the process's own (its pid's fd count and limit from /proc, its start time), and the gauges follow
// a rejected and then an accepted reload.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AnycastdMetrics } from '../../src/metrics/metrics.js';
import { parseExposition, value } from './exposition.js';
import { testConfig } from './fixture.js';

const BUILD = { version: '0.1.0', node: 'h1' };
const FD_SLACK = 16; // fds opened or closed between our count and the scrape's

test('process_* and nodejs event-loop lag are exposed with the process’s own values', async () => {
  const m = new AnycastdMetrics({}, BUILD, testConfig());
  const e = parseExposition(await m.text());
  for (const [name, type] of [
    ['process_cpu_seconds_total', 'counter'],
    ['process_resident_memory_bytes', 'gauge'],
    ['process_open_fds', 'gauge'],
    ['process_max_fds', 'gauge'],
    ['process_start_time_seconds', 'gauge'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
    ['nodejs_eventloop_lag_p99_seconds', 'gauge'],
  ] as const)
    assert.equal(e.types.get(name), type, name);
  const limits = readFileSync('/proc/self/limits', 'utf8');
  const soft = Number(/Max open files\s+(\d+)/.exec(limits)![1]);
  assert.equal(value(e, 'process_max_fds'), soft);
  const open = readdirSync('/proc/self/fd').length;
  assert.ok(
    Math.abs(value(e, 'process_open_fds')! - open) < FD_SLACK,
    `${value(e, 'process_open_fds')} vs ${open}`,
  );
  const started = Date.now() / 1000 - process.uptime();
  assert.ok(Math.abs(value(e, 'process_start_time_seconds')! - started) < 2);
  assert.ok(value(e, 'process_resident_memory_bytes')! > 10 * 1024 * 1024);
  assert.ok(value(e, 'process_cpu_seconds_total')! > 0);
});

test('last reload: successful and its time follow a rejected, then an accepted reload', async () => {
  const m = new AnycastdMetrics({}, BUILD, testConfig());
  const at = (s: number) => s * 1000;
  m.configLoaded(true, at(1_700_000_000));
  let e = parseExposition(await m.text());
  assert.equal(value(e, 'anycastd_config_last_reload_successful'), 1);
  assert.equal(value(e, 'anycastd_config_last_reload_success_timestamp_seconds'), 1_700_000_000);
  m.configLoaded(false, at(1_700_000_100));
  e = parseExposition(await m.text());
  assert.equal(value(e, 'anycastd_config_last_reload_successful'), 0);
  assert.equal(value(e, 'anycastd_config_last_reload_success_timestamp_seconds'), 1_700_000_000, 'kept');
  m.configLoaded(true, at(1_700_000_200));
  e = parseExposition(await m.text());
  assert.equal(value(e, 'anycastd_config_last_reload_successful'), 1);
  assert.equal(value(e, 'anycastd_config_last_reload_success_timestamp_seconds'), 1_700_000_200);
});
