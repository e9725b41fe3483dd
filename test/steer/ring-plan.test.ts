// The ring plan (issue 8): drain, add, failure, the empty-established fallback, order independence,
// and the next change time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MemberObservation, planRings } from '../../src/steer/ring-plan.js';

const T = { drainMs: 30_000, graceMs: 10_000, startedAt: 0 };
const up = (id: string, since = 0): MemberObservation => ({ id, state: 'up', since });

test('instances up from the start are in both rings', () => {
  const p = planRings([up('h2'), up('h1'), up('h3')], 5, T);
  assert.deepEqual(p.new, ['h1', 'h2', 'h3']);
  assert.deepEqual(p.established, ['h1', 'h2', 'h3']);
  assert.equal(p.nextChangeAt, null);
});

test('drain: out of new at once, out of established after the drain time', () => {
  const obs = [up('h1'), up('h2'), { id: 'h3', state: 'draining', since: 1000 } as const];
  const during = planRings(obs, 1000, T);
  assert.deepEqual(during.new, ['h1', 'h2']);
  assert.deepEqual(during.established, ['h1', 'h2', 'h3']);
  assert.equal(during.nextChangeAt, 31_000);
  const after = planRings(obs, 31_000, T);
  assert.deepEqual(after.established, ['h1', 'h2']);
  assert.equal(after.nextChangeAt, null);
});

test('drain ends early when the draining instance reports no connection left', () => {
  const obs = [up('h1'), { id: 'h3', state: 'draining', since: 1000, connections: 0 } as const];
  assert.deepEqual(planRings(obs, 2000, T).established, ['h1']);
  const busy = [up('h1'), { id: 'h3', state: 'draining', since: 1000, connections: 4 } as const];
  assert.deepEqual(planRings(busy, 2000, T).established, ['h1', 'h3']);
});

test('add: in new at once, in established after the grace time', () => {
  const obs = [up('h1'), up('h2'), up('h4', 5000)];
  const early = planRings(obs, 5000, T);
  assert.deepEqual(early.new, ['h1', 'h2', 'h4']);
  assert.deepEqual(early.established, ['h1', 'h2']);
  assert.equal(early.nextChangeAt, 15_000);
  assert.deepEqual(planRings(obs, 15_000, T).established, ['h1', 'h2', 'h4']);
});

test('failure: out of both at once, also while draining or in its grace time', () => {
  const obs = [up('h1'), { id: 'h2', state: 'down', since: 9000 } as const];
  const p = planRings(obs, 9000, T);
  assert.deepEqual(p.new, ['h1']);
  assert.deepEqual(p.established, ['h1']);
});

test('an empty established ring while new has members takes new members (no non-SYN drop)', () => {
  const p = planRings([up('h1', 100), up('h2', 100)], 200, T);
  assert.deepEqual(p.established, ['h1', 'h2']);
  assert.deepEqual(planRings([], 200, T), { new: [], established: [], nextChangeAt: null });
});

test('the same observations in any order give the same plan', () => {
  const obs: MemberObservation[] = [
    up('h1'),
    up('h4', 5000),
    { id: 'h3', state: 'draining', since: 1000 },
    { id: 'h2', state: 'down', since: 10 },
  ];
  const a = planRings(obs, 6000, T);
  const b = planRings([...obs].reverse(), 6000, T);
  assert.deepEqual(a, b);
  assert.deepEqual(a.new, ['h1', 'h4']);
  assert.deepEqual(a.established, ['h1', 'h3']);
});
