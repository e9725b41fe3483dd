// A failure is counted only when it says something about the instance: a timeout that fired late
// because this process lagged is inconclusive, two timeouts closer than the confirm spacing count as
// one, and a real hang still brings the check down within a bound (on the fake clock; block() stands
// for a blocked or unscheduled event loop).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckRunner, LATE_FRACTION } from '../../src/health/check-runner.js';
import { CheckState, confirmSpacingMs } from '../../src/health/check-state.js';
import type { Probe, Transition } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { HUNG_OPTS, startedRunner } from './hung-service.js';

const OPTS = HUNG_OPTS;
const SPACING = confirmSpacingMs(OPTS.timeoutMs);
const started = startedRunner;

const TIMED_OUT = { ok: false, durationMs: 150, detail: 'timeout after 150ms', timedOut: true };

test('confirm: a timeout whose timer fired late (this process lagged) is not a failure', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(999); // up at 0
  // The whole box stalls: the service does not answer and this loop is blocked past two timeouts.
  s.hung = true;
  await clock.advance(1); // the probe at 1000 starts
  clock.block(OPTS.timeoutMs * 2); // the timeout due at 1150 fires at 1300: 150 ms late
  await clock.advance(0);
  assert.match(r.state.lastDetail, /timeout after 150ms \(not counted: the timer fired 150 ms late/);
  assert.equal(r.state.streak.failed, 0, 'not counted');
  await clock.advance(OPTS.fastIntervalMs); // probed again at the fast interval: 1350
  assert.equal(s.starts.at(-1), 1350);
  clock.block(OPTS.timeoutMs * 2); // and stalls again: late once more
  await clock.advance(0);
  s.hung = false;
  await clock.advance(OPTS.intervalMs);
  assert.deepEqual(
    seen.map((t) => t.to),
    ['up'],
    'two late timeouts in a row: never down',
  );
  r.stop();
});

test('confirm: a timeout late by no more than the late fraction counts', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(999);
  s.hung = true;
  await clock.advance(1);
  clock.block(OPTS.timeoutMs + OPTS.timeoutMs * LATE_FRACTION); // fires exactly at the bound
  await clock.advance(0);
  assert.equal(r.state.streak.failed, 1);
  await clock.advance(400); // the fast re-probe times out on time
  assert.deepEqual(
    seen.map((t) => [t.to, t.detail]),
    [
      ['up', 'status 200'],
      ['down', 'timeout after 150ms'],
    ],
  );
  r.stop();
});

test('confirm: two timeouts less than the confirm spacing apart count as one', () => {
  const state = new CheckState(OPTS);
  state.record({ ok: true, durationMs: 1, detail: 'status 200' }, 0);
  assert.equal(state.record(TIMED_OUT, 1000), null);
  assert.equal(state.record(TIMED_OUT, 1000 + SPACING - 1), null, 'too soon: not counted');
  assert.match(state.lastDetail, /not counted: 99 ms after the last failure, under 100 ms/);
  assert.equal(state.nextDelay(), OPTS.fastIntervalMs, 'probed again soon');
  assert.equal(state.record(TIMED_OUT, 1000 + SPACING)?.to, 'down');
  // An answer is evidence at once: two refusals close together count as two.
  const refused = new CheckState(OPTS);
  refused.record({ ok: true, durationMs: 1, detail: 'status 200' }, 0);
  const no = { ok: false, durationMs: 1, detail: 'ECONNREFUSED' };
  assert.equal(refused.record(no, 1000), null);
  assert.equal(refused.record(no, 1001)?.to, 'down');
});

test('confirm: a window of fast probes starts them the confirm spacing apart', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1200);
  s.hung = true;
  r.suspect('a request unanswered for 120 ms');
  await clock.advance(500);
  assert.deepEqual(s.starts.slice(2, 4), [1200, 1200 + SPACING]);
  assert.deepEqual(
    seen.slice(1).map((t) => [t.at, t.to]),
    [[1200 + SPACING + OPTS.timeoutMs, 'down']],
  );
  r.stop();
});

test('confirm: a real hang on a host that always lags is still down within two intervals and a confirmation', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1100);
  s.hung = true;
  const hungAt = clock.now();
  // Every turn of the loop is blocked 100 ms (each timer fires up to 100 ms late: most timeouts are
  // later than the late fraction), for as long as it takes.
  const LAG_MS = 100;
  // The next probe (one interval), late timeouts not counted (one interval), then fall counted ones,
  // each a timeout and a fast interval, both late by up to the lag.
  const BOUND_MS = 2 * OPTS.intervalMs + OPTS.fall * (OPTS.timeoutMs + OPTS.fastIntervalMs + 2 * LAG_MS);
  while (seen.length < 2 && clock.now() - hungAt < 10 * OPTS.intervalMs) {
    clock.block(LAG_MS);
    await clock.advance(1);
  }
  assert.equal(seen.at(-1)?.to, 'down');
  const took = seen.at(-1)!.at - hungAt;
  assert.ok(took <= BOUND_MS, `down ${took} ms after the hang (bound ${BOUND_MS})`);
  r.stop();
});

test('confirm: in a window, a service answering errors is down one fast interval after the sign', async () => {
  const clock = new FakeClock();
  let status = 200;
  const starts: number[] = [];
  const probe: Probe = async () => {
    starts.push(clock.now());
    return { ok: status === 200, durationMs: 1, detail: `status ${status}` };
  };
  const seen: Transition[] = [];
  const r = new CheckRunner(OPTS, probe, (t) => seen.push(t), clock);
  r.start();
  await clock.advance(1200);
  status = 500;
  r.suspect('1 HTTP 500 answer(s) sent from port 80');
  await clock.advance(200);
  assert.deepEqual(starts.slice(2, 4), [1200, 1200 + OPTS.fastIntervalMs], 'an answer: no spacing');
  assert.deepEqual(
    seen.slice(1).map((t) => [t.at, t.to]),
    [[1200 + OPTS.fastIntervalMs, 'down']],
  );
  r.stop();
});
