// The established ring's join grace: the first write admits everyone; a later joiner waits the grace
// time; one that leaves before its grace is forgotten; leaving is immediate; never an empty ring.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JoinGrace } from '../../src/steer/join-grace.js';

const GRACE = 10_000;

test('the first write admits every instance (a start or a restart: they may hold connections)', () => {
  const g = new JoinGrace();
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h3'], GRACE, 0), {
    members: ['h1', 'h2', 'h3'],
    nextDue: null,
  });
});

test('a joiner waits the grace time; then it is admitted', () => {
  const g = new JoinGrace();
  g.admit('web', ['h1', 'h2'], GRACE, 0);
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h4'], GRACE, 1000), {
    members: ['h1', 'h2'],
    nextDue: 11_000,
  });
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h4'], GRACE, 5000), {
    members: ['h1', 'h2'],
    nextDue: 11_000,
  });
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h4'], GRACE, 11_000), {
    members: ['h1', 'h2', 'h4'],
    nextDue: null,
  });
});

test('leaving is immediate; a return is a new join; one gone before its grace is forgotten', () => {
  const g = new JoinGrace();
  g.admit('web', ['h1', 'h2'], GRACE, 0);
  assert.deepEqual(g.admit('web', ['h1'], GRACE, 100).members, ['h1']);
  assert.deepEqual(g.admit('web', ['h1', 'h2'], GRACE, 200), { members: ['h1'], nextDue: 10_200 });
  assert.deepEqual(g.admit('web', ['h1'], GRACE, 300), { members: ['h1'], nextDue: null });
  assert.deepEqual(g.admit('web', ['h1', 'h2'], GRACE, 400), { members: ['h1'], nextDue: 10_400 });
});

test('an established ring is never left empty while instances are wanted; grace 0 admits at once', () => {
  const g = new JoinGrace();
  g.admit('web', [], GRACE, 0);
  assert.deepEqual(g.admit('web', ['h1'], GRACE, 10), { members: ['h1'], nextDue: null });
  const z = new JoinGrace();
  z.admit('web', ['h1'], 0, 0);
  assert.deepEqual(z.admit('web', ['h1', 'h2'], 0, 10).members, ['h1', 'h2']);
});

test('services are independent; forget starts a service afresh', () => {
  const g = new JoinGrace();
  g.admit('web', ['h1'], GRACE, 0);
  g.admit('dns', ['h1'], GRACE, 0);
  assert.deepEqual(g.admit('web', ['h1', 'h2'], GRACE, 10).members, ['h1']);
  assert.deepEqual(g.admit('dns', ['h1', 'h3'], GRACE, 10).members, ['h1']);
  g.forget('web');
  assert.deepEqual(g.admit('web', ['h1', 'h2'], GRACE, 20).members, ['h1', 'h2']);
});

test('a newcomer (first start, no adopted maps) holds itself out for the grace time, not the others', () => {
  const g = new JoinGrace();
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h3', 'h4'], GRACE, 0, 'h4'), {
    members: ['h1', 'h2', 'h3'],
    nextDue: GRACE,
  });
  assert.deepEqual(g.admit('web', ['h1', 'h2', 'h3', 'h4'], GRACE, GRACE), {
    members: ['h1', 'h2', 'h3', 'h4'],
    nextDue: null,
  });
  // Alone it is admitted at once: the ring is never left empty.
  assert.deepEqual(new JoinGrace().admit('web', ['h1'], GRACE, 0, 'h1'), { members: ['h1'], nextDue: null });
});
