// Connection keeping on the veth lab (keeping.ts): held connections through a drain or an add and then
// an ECMP move break none with the program — even an add without the join grace (the second chance
// falls back to the established ring the add replaced), and with dataplane.record_flows movable; plain ECMP
// (the baseline) breaks them. 100 each phase here; bench (bench/steer-keeping.bench.ts) runs 1,000.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uniquePrefix } from '../../lab/netns.js';
import { keepingScenario } from './keeping.js';

const COUNT = 100;

test(`drain B, then the ECMP route moves to B: ${2 * COUNT} held connections, none broken`, async () => {
  const r = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true);
  console.log(`keeping (two rings + second chance): ${JSON.stringify(r)}`);
  assert.ok(
    (r.held.A ?? 0) > COUNT && (r.held.B ?? 0) > 0,
    `both instances held some: ${JSON.stringify(r.held)}`,
  );
  assert.equal(r.broken, 0, JSON.stringify(r.reasons));
});

test(`B added (established after its grace), then the ECMP route moves to B: none broken`, async () => {
  const r = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true, 'add');
  console.log(`keeping, add: ${JSON.stringify(r)}`);
  assert.ok((r.held.B ?? 0) > 0, JSON.stringify(r.held));
  assert.equal(r.broken, 0, JSON.stringify(r.reasons));
});

test('B added to both rings at once (no join grace): the ring they replaced still names the owner, kept', async () => {
  const r = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true, 'add-at-once');
  console.log(`keeping, add at once: ${JSON.stringify(r)}`);
  assert.ok((r.held.B ?? 0) > 0, JSON.stringify(r.held));
  assert.equal(r.broken, 0, JSON.stringify(r.reasons));
});

test('baseline: the same steps with XDP off (plain ECMP) break the connections on A', async () => {
  const r = await keepingScenario(uniquePrefix('steer-keep'), COUNT, false);
  console.log(`keeping (plain ECMP): ${JSON.stringify(r)}`);
  assert.ok(r.broken >= COUNT, `at least the second phase's ${COUNT} (all on A): ${JSON.stringify(r)}`);
});

test('dataplane.record_flows movable (no entry for flows whose rings agree): B added to both rings at once, kept', async () => {
  const r = await keepingScenario(uniquePrefix('steer-keep'), COUNT, true, 'add-at-once', false);
  console.log(`keeping, add at once, movable flows recorded only: ${JSON.stringify(r)}`);
  assert.ok((r.held.B ?? 0) > 0, JSON.stringify(r.held));
  assert.equal(r.broken, 0, JSON.stringify(r.reasons));
});
