import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckState, type CheckTiming } from '../../src/health/check-state.js';
import { Dampening } from '../../src/health/dampening.js';
import type { Transition } from '../../src/health/types.js';

const OK = { ok: true, durationMs: 1, detail: 'connected' };
const FAIL = { ok: false, durationMs: 1, detail: 'ECONNREFUSED' };
const TIMING: CheckTiming = { intervalMs: 1000, fastIntervalMs: 200, rise: 3, fall: 2, dampening: null };
const DAMP = { penalty: 1000, halfLifeMs: 10_000, suppress: 2000, reuse: 750, maxHoldDownMs: 30_000 };

const brief = (t: Transition | null) => (t ? `${t.from}>${t.to}:${t.reason}` : null);

test('starts unknown; rise successes bring it up, with the fast interval while rising', () => {
  const s = new CheckState(TIMING);
  assert.equal(s.state, 'unknown');
  assert.equal(s.nextDelay(), 200);
  assert.equal(brief(s.record(OK, 0)), null);
  assert.equal(brief(s.record(OK, 200)), null);
  assert.equal(brief(s.record(OK, 400)), 'unknown>up:rise-reached');
  assert.equal(s.nextDelay(), 1000);
});

test('the first failure from unknown is down at once (a restarting host never advertises a dead service)', () => {
  const s = new CheckState(TIMING);
  const t = s.record(FAIL, 0);
  assert.deepEqual(t, { from: 'unknown', to: 'down', reason: 'check-failed', at: 0, detail: 'ECONNREFUSED' });
});

test('fall consecutive failures bring it down; a success in between resets the count', () => {
  const s = new CheckState({ ...TIMING, rise: 1 });
  s.record(OK, 0);
  assert.equal(s.record(FAIL, 1000), null);
  assert.equal(s.nextDelay(), 200, 'fast interval while falling');
  assert.equal(s.record(OK, 1200), null);
  assert.equal(s.nextDelay(), 1000);
  assert.equal(s.record(FAIL, 2200), null);
  assert.equal(brief(s.record(FAIL, 2400)), 'up>down:check-failed');
  assert.equal(s.nextDelay(), 1000, 'steady down polls at the interval');
  s.record(OK, 3400);
  assert.equal(s.nextDelay(), 1000, 'rise 1 reached: up again, steady');
  assert.equal(s.state, 'up');
});

test('forceDown (socket-gone) skips fall, and a following failure does not repeat it', () => {
  const s = new CheckState({ ...TIMING, rise: 1 });
  s.record(OK, 0);
  assert.equal(brief(s.forceDown('socket-gone', 'no listener', 10)), 'up>down:socket-gone');
  assert.equal(s.forceDown('socket-gone', 'no listener', 20), null);
  assert.equal(s.record(FAIL, 30), null);
  assert.equal(s.state, 'down');
});

test('dampening: penalty halves every half-life and is capped so the hold-down is bounded', () => {
  const d = new Dampening(DAMP);
  d.flap(0);
  assert.equal(d.penalty(0), 1000);
  assert.equal(Math.round(d.penalty(10_000)), 500);
  assert.equal(Math.round(d.penalty(20_000)), 250);
  for (let i = 0; i < 50; i++) d.flap(20_000);
  // ceiling = reuse · 2^(maxHoldDown/halfLife) = 750 · 8 = 6000
  assert.equal(Math.round(d.penalty(20_000)), 6000);
  assert.equal(d.suppressed(20_000), true);
  const release = d.releaseAt(20_000);
  assert.ok(release - 20_000 <= DAMP.maxHoldDownMs + 1, `hold-down ${release - 20_000} ms`);
  assert.ok(release - 20_000 >= DAMP.maxHoldDownMs - 1);
  assert.equal(d.suppressed(release - 2), true);
  assert.equal(d.suppressed(release), false);
});

test('dampening on a flapping check: held down with one dampened event, released after decay', () => {
  const s = new CheckState({ ...TIMING, rise: 1, fall: 1, dampening: DAMP });
  const events: string[] = [];
  const rec = (ok: boolean, at: number) => {
    const t = s.record(ok ? OK : FAIL, at);
    if (t) events.push(`${at}:${brief(t)}`);
  };
  rec(true, 0); // up
  rec(false, 1000); // flap 1: penalty 1000
  rec(true, 2000); // up again (1000·2^-0.1 < 2000)
  rec(false, 3000); // flap 2: 1000·2^-0.2 + 1000 ≈ 1871, not yet above 2000
  rec(true, 4000); // up again
  rec(false, 5000); // flap 3: 1871·2^-0.2 + 1000 ≈ 2629 > 2000 → suppressed
  rec(true, 6000); // held
  rec(true, 7000); // still held, no second event
  assert.deepEqual(events, [
    '0:unknown>up:rise-reached',
    '1000:up>down:check-failed',
    '2000:down>up:rise-reached',
    '3000:up>down:check-failed',
    '4000:down>up:rise-reached',
    '5000:up>down:check-failed',
    '6000:down>down:dampened',
  ]);
  assert.equal(s.held, true);
  const release = s.releaseAt(7000)!;
  // penalty at 5000 ≈ 2629; below 750 after h·log2(2629/750) ≈ 18.1 s
  assert.ok(release > 23_000 && release < 23_200, `release at ${release}`);
  assert.equal(s.tick(release - 100), null);
  assert.equal(brief(s.tick(release)), 'down>up:dampening-released');
  assert.equal(s.state, 'up');
});

test('a failure while held cancels the hold; no release without health', () => {
  const s = new CheckState({ ...TIMING, rise: 1, fall: 1, dampening: { ...DAMP, suppress: 900 } });
  s.record(OK, 0);
  s.record(FAIL, 10); // penalty 1000 > 900: suppressed
  assert.equal(brief(s.record(OK, 20)), 'down>down:dampened');
  s.record(FAIL, 30);
  assert.equal(s.held, false);
  assert.equal(s.releaseAt(30), null);
  assert.equal(s.tick(1_000_000), null);
  assert.equal(s.state, 'down');
});
