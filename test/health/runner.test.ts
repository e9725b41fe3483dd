import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckRunner, type RunnerOptions } from '../../src/health/check-runner.js';
import { InstanceHealth, type InstanceTransition } from '../../src/health/instance-health.js';
import type { Probe, Transition } from '../../src/health/types.js';
import { FakeClock } from '../helpers/fake-clock.js';

const OPTS: RunnerOptions = {
  name: 'tcp#0',
  intervalMs: 1000,
  fastIntervalMs: 100,
  timeoutMs: 300,
  rise: 2,
  fall: 2,
  dampening: null,
};

/** A probe whose verdict the test flips; it records the clock time of each call. */
function scripted(clock: FakeClock) {
  const ctl: { ok: boolean; calls: number[]; probe: Probe } = {
    ok: true,
    calls: [],
    probe: async () => {
      ctl.calls.push(clock.now());
      return { ok: ctl.ok, durationMs: 0, detail: ctl.ok ? 'connected' : 'ECONNREFUSED' };
    },
  };
  return ctl;
}

test('runner: probes at once, fast while rising/falling, at the interval when steady', async () => {
  const clock = new FakeClock();
  const p = scripted(clock);
  const seen: Transition[] = [];
  const r = new CheckRunner(OPTS, p.probe, (t) => seen.push(t), clock);
  r.start();
  await clock.advance(2200);
  assert.deepEqual(p.calls.slice(0, 4), [0, 100, 1100, 2100]);
  assert.deepEqual(
    seen.map((t) => [t.at, t.to, t.reason]),
    [[100, 'up', 'rise-reached']],
  );
  p.ok = false;
  await clock.advance(1000); // fails at 3100, fast retry at 3200 → down
  assert.deepEqual(p.calls.slice(4), [3100, 3200]);
  assert.deepEqual(
    seen.slice(1).map((t) => [t.at, t.to, t.reason, t.detail]),
    [[3200, 'down', 'check-failed', 'ECONNREFUSED']],
  );
  r.stop();
  const n = p.calls.length;
  await clock.advance(5000);
  assert.equal(p.calls.length, n, 'no probe after stop');
});

test('runner: a probe that never answers fails at the timeout', async () => {
  const clock = new FakeClock();
  let aborted = false;
  const hang: Probe = (signal) =>
    new Promise(() => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
    });
  const seen: Transition[] = [];
  const r = new CheckRunner(OPTS, hang, (t) => seen.push(t), clock);
  r.start();
  await clock.advance(299);
  assert.equal(seen.length, 0);
  await clock.advance(1);
  assert.deepEqual(
    seen.map((t) => [t.at, t.to, t.detail]),
    [[300, 'down', 'timeout after 300ms']],
  );
  assert.equal(aborted, true, 'the probe was aborted');
  r.stop();
});

test('instance: up only when every check is up; socket-gone, drain and undrain transitions', async () => {
  const clock = new FakeClock();
  const a = scripted(clock);
  const b = scripted(clock);
  b.ok = false;
  const seen: InstanceTransition[] = [];
  const inst = new InstanceHealth({
    service: 'web',
    instance: 'h1',
    local: true,
    clock,
    onTransition: (t) => seen.push(t),
    checks: [
      { options: { ...OPTS, name: 'tcp#0' }, probe: a.probe, watchSocket: true },
      { options: { ...OPTS, name: 'http#1' }, probe: b.probe, watchSocket: false },
    ],
  });
  inst.start();
  await clock.advance(500);
  assert.equal(inst.state, 'down');
  b.ok = true;
  await clock.advance(1200);
  assert.equal(inst.state, 'up');
  inst.setDrained(true, 'drain flag');
  inst.setDrained(false, 'drain flag');
  inst.socketGone('no listening socket on port 80');
  const brief = seen.map((t) => `${t.from}>${t.to}:${t.reason}:${t.check}`);
  assert.deepEqual(brief, [
    'unknown>down:check-failed:http#1',
    'down>up:rise-reached:http#1',
    'up>drained:drained:',
    'drained>up:undrained:',
    'up>down:socket-gone:tcp#0',
  ]);
  assert.equal(seen.at(-1)!.detail, 'no listening socket on port 80');
  assert.equal(seen.at(-1)!.at, clock.now());
  // The socket is back and the check passes again: rise brings the instance up by the checks alone.
  await clock.advance(1100);
  assert.equal(inst.state, 'up');
  assert.equal(seen.at(-1)!.reason, 'rise-reached');
  // Draining while down stays down; undraining a down instance emits nothing.
  a.ok = false;
  await clock.advance(1200);
  assert.equal(inst.state, 'down');
  const n = seen.length;
  inst.setDrained(true, 'drain file');
  assert.equal(seen.length, n);
  inst.stop();
});

test('runner: a flapping check is held by dampening and released by its own timer', async () => {
  const clock = new FakeClock();
  const p = scripted(clock);
  const seen: Transition[] = [];
  const damp = { penalty: 1000, halfLifeMs: 10_000, suppress: 1500, reuse: 750, maxHoldDownMs: 40_000 };
  const r = new CheckRunner(
    { ...OPTS, rise: 1, fall: 1, dampening: damp },
    p.probe,
    (t) => seen.push(t),
    clock,
  );
  r.start();
  await clock.advance(0); // up
  for (const ok of [false, true, false, true]) {
    p.ok = ok;
    await clock.advance(1000);
  }
  const brief = seen.map((t) => `${t.at}:${t.from}>${t.to}:${t.reason}`);
  // flap at 1000 (penalty 1000), up at 2000, flap at 3000 (≈1870 > 1500: suppressed), held at 4000
  assert.deepEqual(brief, [
    '0:unknown>up:rise-reached',
    '1000:up>down:check-failed',
    '2000:down>up:rise-reached',
    '3000:up>down:check-failed',
    '4000:down>down:dampened',
  ]);
  // penalty ≈ 1870 at 3000 falls below 750 after 10 s · log2(1870/750) ≈ 13.2 s → released near 16.2 s
  await clock.advance(11_000);
  assert.equal(seen.length, 5, 'still held at 15 s');
  await clock.advance(2000);
  const last = seen.at(-1)!;
  assert.deepEqual([last.from, last.to, last.reason], ['down', 'up', 'dampening-released']);
  assert.ok(last.at > 16_000 && last.at < 16_400, `released at ${last.at}`);
  r.stop();
});

test('runner: ENETUNREACH (no route from this host) holds the state instead of failing the check', async () => {
  const clock = new FakeClock();
  let detail = 'connected';
  const probe: Probe = async () => ({ ok: detail === 'connected', durationMs: 0, detail });
  const seen: Transition[] = [];
  const r = new CheckRunner(OPTS, probe, (t) => seen.push(t), clock);
  r.start();
  await clock.advance(200);
  assert.deepEqual(
    seen.map((t) => t.to),
    ['up'],
  );
  detail = 'ENETUNREACH';
  await clock.advance(5000);
  assert.deepEqual(
    seen.map((t) => t.to),
    ['up'],
    'isolated: held up',
  );
  detail = 'ECONNREFUSED';
  await clock.advance(2000);
  assert.deepEqual(
    seen.map((t) => [t.to, t.detail]),
    [
      ['up', 'connected'],
      ['down', 'ECONNREFUSED'],
    ],
  );
  r.stop();
});
