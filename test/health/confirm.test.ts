// A failure is counted only when it says something about the instance: a timeout that fired late
// because this process lagged gives the answer waiting behind it a grace, two timeouts closer than the
// confirm spacing count as one, and a real hang still brings the check down within a bound (on the fake
// clock; block() stands for a blocked or unscheduled event loop).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckRunner, LATE_FRACTION } from '../../src/health/check-runner.js';
import { CheckState, confirmSpacingMs } from '../../src/health/check-state.js';
import type { Probe, ProbeResult, Transition } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { HUNG_OPTS, startedRunner } from './hung-service.js';

const OPTS = HUNG_OPTS;
const SPACING = confirmSpacingMs(OPTS.timeoutMs);
const started = startedRunner;

const TIMED_OUT = { ok: false, durationMs: 150, detail: 'timeout after 150ms', timedOut: true };

test('confirm: a timeout whose timer fired late (this loop lagged) waits for the answer behind it', async () => {
  const clock = new FakeClock();
  let waiting = false;
  let answer: (r: ProbeResult) => void = () => {};
  const probe: Probe = () =>
    waiting
      ? new Promise((resolve) => {
          answer = resolve;
        })
      : Promise.resolve({ ok: true, durationMs: 1, detail: 'status 200' });
  const seen: Transition[] = [];
  const r = new CheckRunner(OPTS, probe, (t) => seen.push(t), clock);
  r.start();
  await clock.advance(999); // up at 0
  waiting = true;
  await clock.advance(1); // the probe at 1000 starts; its answer will be read from a socket
  // The loop is blocked while the answer comes in: the timeout due at 1150 fires at 1300, before the
  // socket is read (Node runs due timers first).
  clock.block(OPTS.timeoutMs * 2);
  await clock.advance(0);
  assert.equal(r.state.lastRun?.at, 0, 'the probe at 1000 is not over');
  answer({ ok: true, durationMs: 300, detail: 'status 200' }); // the socket is read
  await clock.advance(0);
  assert.deepEqual([r.state.lastRun?.at, r.state.lastRun?.detail], [1300, 'status 200']);
  assert.deepEqual(
    seen.map((t) => t.to),
    ['up'],
  );
  r.stop();
});

test('confirm: no answer in the grace after a late timer: a timeout, with the lag in its detail', async () => {
  const { clock, s, r } = started();
  await clock.advance(999);
  s.hung = true;
  await clock.advance(1);
  clock.block(OPTS.timeoutMs * 2); // fires 150 ms late: a grace of 50 ms (the late fraction)
  const graceMs = OPTS.timeoutMs * LATE_FRACTION;
  await clock.advance(graceMs - 1);
  assert.equal(r.state.streak.failed, 0);
  await clock.advance(1);
  assert.deepEqual(
    [r.state.lastRun?.at, r.state.lastRun?.detail, r.state.streak.failed],
    [1300 + graceMs, `timeout after 150ms (+${graceMs} ms: this agent lagged)`, 1],
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

test('confirm: a real hang on a host that always lags is still down within an interval and fall graced timeouts', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1100);
  s.hung = true;
  const hungAt = clock.now();
  // Every turn of the loop is blocked 100 ms (each timer fires up to 100 ms late: most timeouts are
  // later than the late fraction and get a grace), for as long as it takes.
  const LAG_MS = 100;
  // The next probe (one interval), then fall probes, each a timeout, a grace, and a fast interval,
  // each late by up to the lag.
  const BOUND_MS = OPTS.intervalMs + OPTS.fall * (OPTS.timeoutMs + OPTS.fastIntervalMs + 4 * LAG_MS);
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
