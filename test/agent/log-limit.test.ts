// The log rate limit on a hand-moved clock (no sleeps): per (event, key) and per event caps, one summary
// record with `suppressed` per key when the interval ends (at the highest level held back), a bounded key
// table under a flood from many addresses, the per-event totals the metric reads, and the timer that
// writes the summaries when no further record comes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LogRecord, makeRecord } from '../../src/agent/log.js';
import { KEY_FIELD_MAX, LogLimiter, SUMMARY_KEYS } from '../../src/agent/log-limit.js';
import { FakeClock } from '../helpers/fake-clock.js';

const INTERVAL = 10_000;

function setup(opts: { perKey?: number; perEvent?: number; maxKeys?: number } = {}) {
  const clock = new FakeClock();
  const out: LogRecord[] = [];
  const limiter = new LogLimiter((r) => out.push(r), { intervalMs: INTERVAL, clock, ...opts });
  return { clock, out, limiter, log: limiter.sink };
}

const refused = (address: string, level: 'info' | 'warn' | 'error' = 'info') =>
  makeRecord(level, 'bgp-connection-refused', { address, reason: 'not-a-peer' });

test('at most perKey records per (event, key) per interval; one summary with the count when it ends', async () => {
  const { clock, out, limiter, log } = setup({ perKey: 3 });
  for (let i = 0; i < 200; i++) log(refused('198.51.100.7'));
  for (let i = 0; i < 2; i++) log(refused('198.51.100.8'));
  log(makeRecord('info', 'config-reloaded', {}));
  assert.equal(out.length, 3 + 2 + 1, 'passed: 3 of the first address, both of the second, the other event');
  await clock.advance(INTERVAL);
  const summaries = out.slice(6);
  assert.equal(summaries.length, 1, 'one summary: only the first address had records held back');
  assert.equal(summaries[0]!.event, 'bgp-connection-refused');
  assert.equal(summaries[0]!.address, '198.51.100.7');
  assert.equal(summaries[0]!.suppressed, 197);
  assert.equal(limiter.suppressed.get('bgp-connection-refused'), 197);
  // the next interval starts afresh
  for (let i = 0; i < 5; i++) log(refused('198.51.100.7'));
  assert.equal(out.length, 7 + 3);
});

test('warn and error records are limited too; the summary carries the highest level held back', async () => {
  const { clock, out, log } = setup({ perKey: 1 });
  log(refused('192.0.2.9', 'info'));
  log(refused('192.0.2.9', 'warn'));
  log(refused('192.0.2.9', 'error'));
  log(refused('192.0.2.9', 'info'));
  assert.equal(out.length, 1);
  await clock.advance(INTERVAL);
  assert.deepEqual(
    out.map((r) => [r.level, r.suppressed]),
    [
      ['info', undefined],
      ['error', 3],
    ],
  );
});

test("the agent's own records pass: only records naming a network source (address, remote) are limited", () => {
  const { out, log } = setup({ perKey: 1 });
  for (let i = 0; i < 50; i++) {
    log(makeRecord('info', 'ring-updated', { service: 'web', instance: 'h1' }));
    log(makeRecord('info', 'bgp-peer-state', { peer: 'tor1' }));
  }
  assert.equal(out.length, 100, 'every action of a flapping service is written');
  log(makeRecord('info', 'cluster-refused', { remote: '203.0.113.5', service: 'web' }));
  log(makeRecord('info', 'cluster-refused', { remote: '203.0.113.5', service: 'dns' }));
  log(makeRecord('info', 'cluster-refused', { remote: '203.0.113.6', service: 'web' }));
  log(makeRecord('info', 'cluster-refused', { remote: '203.0.113.5', service: 'web' }));
  assert.equal(out.length, 103, 'the key is the source with what it is about: only the repeat is held back');
});

test('a flood from many addresses: the per-event cap holds, the key table stays bounded', async (t) => {
  const flood = 10_000;
  const perEvent = 100;
  const maxKeys = 500;
  const { clock, out, limiter, log } = setup({ perKey: 2, perEvent, maxKeys });
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < flood; i++) log(refused(`2001:db8::${i.toString(16)}:${'x'.repeat(i % 1_000)}`));
  assert.equal(out.length, perEvent, 'the event cap');
  assert.equal(limiter.trackedKeys, maxKeys, 'the key table is full, not larger');
  await clock.advance(INTERVAL);
  assert.equal(limiter.trackedKeys, 0, 'the interval ended: the table starts anew');
  const summaries = out.slice(perEvent);
  const heapGrowthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  // the table filled up: maxKeys - perEvent keys were held back in it, the rest found no room
  assert.equal(summaries.length, SUMMARY_KEYS + 1, 'SUMMARY_KEYS summaries of their own, one shared');
  const shared = summaries.at(-1)!;
  assert.equal(shared.keys, maxKeys - perEvent - SUMMARY_KEYS);
  assert.equal(shared.untracked, flood - maxKeys);
  const total = summaries.reduce((n, r) => n + Number(r.suppressed), 0);
  assert.equal(total, flood - perEvent, 'every record held back is in a summary');
  assert.equal(limiter.suppressed.get('bgp-connection-refused'), flood - perEvent);
  for (const r of summaries) assert.ok(String(r.address ?? '').length <= KEY_FIELD_MAX, 'key fields are cut');
  // the heap is reported, not bounded: in the unit tier's one process it moves with the GC and every
  // other file's garbage; the bound is the table's size above
  t.diagnostic(
    `${flood} records from ${flood} addresses → ${out.length} lines written (${perEvent} passed, ` +
      `${summaries.length} summaries); heap ${heapGrowthMb >= 0 ? '+' : ''}${heapGrowthMb.toFixed(1)} MB`,
  );
});

test('the summary is written by the timer when no further record comes, and by close()', async () => {
  const { clock, out, limiter, log } = setup({ perKey: 1 });
  log(refused('192.0.2.1'));
  log(refused('192.0.2.1'));
  await clock.advance(INTERVAL - 1);
  assert.equal(out.length, 1, 'nothing before the interval ends');
  await clock.advance(1);
  assert.equal(out.length, 2);
  assert.equal(out[1]!.suppressed, 1);
  log(refused('192.0.2.2'));
  log(refused('192.0.2.2'));
  limiter.close();
  assert.equal(out.at(-1)!.suppressed, 1, 'close writes what is held back at once');
  await clock.advance(INTERVAL * 3);
  assert.equal(out.length, 4, 'no timer left running after close');
});
