// The ordered actions of the agent, with recording fakes of its ports: the exact sequence across lo, the
// rings and BGP for start, up, down (plain and worsened), recovery during the worsen delay, drain and
// undrain, a remote instance's failure, and stop. Pure sequencing on a FakeClock: the agent's delays,
// drain times and the fake peers' flushes pass when the test moves the clock, so every figure is exact
// and nothing sleeps. The real parts run in netns.root.test.ts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import { type ConnectionCounter, DRAIN_POLL_MS } from '../../src/agent/drain-wait.js';
import { type LogRecord, silentSink } from '../../src/agent/log.js';
import { FakeClock } from '../helpers/fake-clock.js';
import {
  config,
  FakeAnnouncer,
  FakeCluster,
  FakeHost,
  FakeSteering,
  fakeHealthFactory,
  Recorder,
  type ServiceOptions,
  serviceYaml,
} from './fakes.js';

const VIP = '203.0.113.10';
const P = `${VIP}/32`;
/** The up path and the down path (withdraw policy, VIP leaves lo) of service web, h2 healthy. */
const UP = [`lo-add ${VIP}`, 'ring web new [h1,h2]', 'ring web established [h1,h2]', `advertise ${P}`];
const DOWN_RINGS = ['ring web new [h2]', 'ring web established [h2]', 'failed web/h1', `lo-remove ${VIP}`];
const DOWN = [`withdraw ${P}`, 'flushed', ...DOWN_RINGS];

function setup(
  opts: ServiceOptions = {},
  more: string[] = [],
  connections?: ConnectionCounter,
  cluster = new FakeCluster(),
) {
  const clock = new FakeClock();
  const rec = new Recorder(clock);
  const announcer = new FakeAnnouncer(rec);
  const host = new FakeHost(rec);
  const steering = new FakeSteering(rec);
  const health = fakeHealthFactory(clock);
  const agent = new Agent(config([serviceYaml(opts), ...more]), {
    announcer,
    host,
    steering,
    cluster,
    health: health.factory,
    sink: silentSink,
    flushTimeoutMs: 500,
    clock,
    ...(connections ? { connections } : {}),
  });
  const events: string[] = [];
  const records: LogRecord[] = [];
  agent.on('log', (r) => {
    events.push(r.event);
    records.push(r);
  });
  agent.start();
  const web = () => health.made.get('web')!;
  // The agent's pending steps, and stop, run to their end: the clock moves through their waits.
  const idle = () => clock.settle(agent.idle());
  const stop = (timeoutMs?: number) => clock.settle(agent.stop(timeoutMs));
  return { clock, rec, announcer, host, steering, health, cluster, agent, web, events, records, idle, stop };
}

/** Start, both instances up, settled and advertised; returns the recorder index after setup. */
async function upAndRunning(opts: ServiceOptions = {}, connections?: ConnectionCounter) {
  const s = setup(opts, [], connections);
  s.web().set('h2', 'up', 'rise-reached');
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.ok(s.rec.steps.includes('end-of-rib'));
  return { ...s, mark: s.rec.steps.length };
}

test('start: host address first; nothing advertised and End-of-RIB held until the checks settle', async () => {
  const s = setup();
  assert.deepEqual(s.rec.steps, ['lo-add 192.0.2.11', 'advertise 192.0.2.11/32', 'vips web=203.0.113.10']);
  s.web().set('h2', 'up', 'rise-reached');
  await s.idle();
  assert.equal(s.announcer.eorReleased, 0, 'one instance still unknown: held');
  assert.equal(s.rec.steps.length, 3, 'no ring, no route before settling');
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.equal(s.announcer.eorReleased, 1);
  assert.deepEqual(s.rec.since(3), [...UP, 'end-of-rib']);
  await s.stop();
});

test('a store not read yet (etcd backend): no settling, no ring, no route until its first read', async () => {
  const s = setup({}, [], undefined, new FakeCluster({ known: false }));
  s.web().set('h2', 'up', 'rise-reached');
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.equal(s.agent.status().services[0]!.settled, false, 'rings of ours alone would take every flow');
  assert.equal(s.rec.steps.length, 3, 'no ring, no route before the store was read');
  s.cluster.read(['web']);
  await s.idle();
  assert.deepEqual(s.rec.since(3), [...UP, 'end-of-rib']);
  await s.stop();
});

test('a store never read: grace_time still settles the service, with a warning', async () => {
  const s = setup({}, [], undefined, new FakeCluster({ known: false }));
  s.web().set('h2', 'up', 'rise-reached');
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.equal(s.agent.status().services[0]!.settled, false);
  await s.clock.advance(s.agent.config.services[0]!.graceTimeMs);
  await s.idle();
  assert.equal(s.agent.status().services[0]!.route, 'advertised');
  const warned = s.records.find((r) => r.event === 'members-unknown');
  assert.equal(warned?.reason, 'grace-time');
  await s.stop();
});

test('start with the local instance down: rings of the healthy rest, never advertised, End-of-RIB released', async () => {
  const s = setup();
  s.web().set('h2', 'up', 'rise-reached');
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  assert.equal(s.announcer.eorReleased, 1);
  assert.deepEqual(s.rec.since(3), [
    'ring web new [h2]',
    'ring web established [h2]',
    'failed web/h1',
    'end-of-rib',
  ]);
  assert.ok(!s.rec.steps.some((x) => x.startsWith(`advertise ${VIP}`)));
  await s.stop();
});

test('grace time: an instance that never answers does not hold End-of-RIB forever', async () => {
  const s = setup({ grace: '30ms' });
  s.web().set('h2', 'up', 'rise-reached');
  await s.clock.advance(29);
  assert.equal(s.announcer.eorReleased, 0, 'held until grace_time');
  await s.clock.advance(1);
  assert.equal(s.announcer.eorReleased, 1);
  assert.ok(s.events.includes('service-settled'));
  assert.ok(!s.rec.steps.some((x) => x.startsWith(`advertise ${VIP}`)), 'unknown local is not advertised');
  await s.stop();
});

test('down (withdraw): withdraw → flushed → out of both rings → failed → VIP off lo, in that order', async () => {
  const s = await upAndRunning();
  s.web().set('h1', 'down', 'socket-gone');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), DOWN);
  assert.equal(s.rec.timeOf('flushed') - s.rec.timeOf(`withdraw ${P}`), s.announcer.flushDelayMs);
  const st = s.agent.status();
  assert.equal(st.services[0]!.route, 'withdrawn');
  assert.equal(st.services[0]!.vipAnnounced, false);
  assert.deepEqual(st.services[0]!.vipsOnLo, []);
  assert.deepEqual(st.services[0]!.rings.new, { h2: 1 });
  assert.equal(st.transitionsByReason['socket-gone'], 1);
  assert.equal(st.transitionsByReason['rise-reached'], 2);
  // And back: VIP on lo → into the rings → advertise.
  const back = s.rec.steps.length;
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(back), UP);
  await s.stop();
});

test('vip_leaves_lo_when_down false: the VIP is on lo from the start and stays there', async () => {
  const s = await upAndRunning({ vipLeaves: false });
  assert.equal(s.rec.steps.indexOf(`lo-add ${VIP}`), 3, 'placed at start, before any check');
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), DOWN.slice(0, -1));
  await s.stop();
});

for (const [action, attrs] of [
  ['graceful_shutdown', '{"communities":[4294901760]}'],
  ['med', '{"med":5000}'],
  ['prepend', '{"prepend":4}'],
] as const) {
  test(`down (${action}): worsen → flushed → rings → delay → withdraw → flushed → lo`, async () => {
    const s = await upAndRunning({ onDown: `{ action: ${action}, delay: 60ms, med: 5000, prepend: 4 }` });
    s.web().set('h1', 'down', 'check-failed');
    await s.idle();
    assert.deepEqual(s.rec.since(s.mark), [
      `advertise ${P} ${attrs}`,
      'flushed',
      ...DOWN_RINGS.slice(0, -1),
      `withdraw ${P}`,
      'flushed',
      `lo-remove ${VIP}`,
    ]);
    const waited = s.rec.timeOf(`withdraw ${P}`) - s.rec.timeOf(`advertise ${P} ${attrs}`);
    assert.equal(waited, s.announcer.flushDelayMs + 60, 'the delay runs from the flushed worsening');
    await s.stop();
  });
}

test('recovery during the worsen delay: re-advertised with normal attributes, never withdrawn', async () => {
  const s = await upAndRunning({ onDown: '{ action: med, delay: 200ms }' });
  s.web().set('h1', 'down', 'check-failed');
  assert.deepEqual(s.rec.since(s.mark), [`advertise ${P} {"med":1000}`], 'worsened at once');
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  // Recovered before the worsening was even sent: the rings were never touched.
  assert.deepEqual(s.rec.since(s.mark), [`advertise ${P} {"med":1000}`, 'flushed', `advertise ${P}`]);
  assert.equal(s.agent.status().services[0]!.route, 'advertised');
  // Down again, and up in the middle of the delay: back into the rings and re-advertised, never withdrawn.
  const mark = s.rec.steps.length;
  s.web().set('h1', 'down', 'check-failed');
  await s.clock.advance(s.announcer.flushDelayMs + 100);
  assert.deepEqual(s.rec.since(mark), [
    `advertise ${P} {"med":1000}`,
    'flushed',
    'ring web new [h2]',
    'ring web established [h2]',
    'failed web/h1',
  ]);
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(mark + 5), [
    'ring web new [h1,h2]',
    'ring web established [h1,h2]',
    `advertise ${P}`,
  ]);
  assert.ok(!s.rec.steps.includes(`withdraw ${P}`));
  await s.clock.advance(200);
  assert.equal(s.rec.steps.length, mark + 8, 'the interrupted delay withdraws nothing later');
  await s.stop();
});

test('drain: route steps, out of `new` at once, out of `established` and VIP off lo after drain_time', async () => {
  const s = await upAndRunning({ drainTime: '80ms' });
  s.agent.drain('web');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), [`withdraw ${P}`, 'flushed', 'ring web new [h2]']);
  assert.equal(s.agent.status().services[0]!.drained, true);
  await s.clock.advance(79);
  assert.equal(s.rec.steps.length, s.mark + 3, 'held until drain_time');
  await s.clock.advance(1);
  assert.deepEqual(s.rec.since(s.mark + 3), ['ring web established [h2]', `lo-remove ${VIP}`]);
  assert.ok(!s.rec.steps.includes('failed web/h1'), 'a drained instance keeps its flows');
  const back = s.rec.steps.length;
  s.agent.undrain('web');
  await s.idle();
  assert.deepEqual(s.rec.since(back), UP);
  await s.stop();
});

test('undrain before drain_time: back in `new`, `established` never changed, re-advertised', async () => {
  const s = await upAndRunning({ drainTime: '5s' });
  s.agent.drain('web');
  await s.idle();
  s.agent.undrain('web');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), [
    `withdraw ${P}`,
    'flushed',
    'ring web new [h2]',
    'ring web new [h1,h2]',
    `advertise ${P}`,
  ]);
  await s.stop();
});

test('drain ends early once no client connection is left', async () => {
  let clients: number | null = 2;
  const s = await upAndRunning({ drainTime: '10s' }, () => clients);
  s.agent.drain('web');
  await s.idle();
  await s.clock.advance(3 * DRAIN_POLL_MS);
  assert.deepEqual(
    s.rec.since(s.mark),
    [`withdraw ${P}`, 'flushed', 'ring web new [h2]'],
    'clients left: held',
  );
  clients = 0;
  await s.clock.advance(DRAIN_POLL_MS);
  assert.ok(s.rec.steps.includes(`lo-remove ${VIP}`), 'within a poll');
  assert.deepEqual(s.rec.since(s.mark + 3), ['ring web established [h2]', `lo-remove ${VIP}`]);
  assert.equal(s.records.find((r) => r.event === 'drain-finished')?.reason, 'no-connections-left');
  await s.stop();
});

test('drain of a service whose flows cannot be counted (null) runs the full drain_time', async () => {
  const s = await upAndRunning({ drainTime: '150ms' }, () => null);
  s.agent.drain('web');
  await s.idle();
  await s.clock.advance(149);
  assert.ok(!s.rec.steps.includes(`lo-remove ${VIP}`), 'held until drain_time');
  await s.clock.advance(1);
  assert.ok(s.rec.steps.includes(`lo-remove ${VIP}`));
  assert.equal(s.records.find((r) => r.event === 'drain-finished')?.reason, 'drain-time-over');
  await s.stop();
});

test('a failure while draining takes the instance out of both rings at once', async () => {
  const s = await upAndRunning({ drainTime: '5s' });
  s.agent.drain('web');
  await s.idle();
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark + 3), [
    'ring web established [h2]',
    'failed web/h1',
    `lo-remove ${VIP}`,
  ]);
  await s.stop();
});

test('a remote instance changes the rings at once and no route', async () => {
  const s = await upAndRunning();
  s.web().set('h2', 'down', 'check-failed');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), ['ring web new [h1]', 'ring web established [h1]', 'failed web/h2']);
  s.web().set('h2', 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark + 3), ['ring web new [h1,h2]', 'ring web established [h1,h2]']);
  await s.stop();
});

test('a dampening hold (from === to) is logged and changes nothing', async () => {
  const s = await upAndRunning();
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  const mark = s.rec.steps.length;
  s.web().set('h1', 'down', 'dampened');
  await s.idle();
  assert.equal(s.rec.steps.length, mark);
  assert.equal(s.agent.status().transitionsByReason['dampened'], 1);
  await s.stop();
});

test('stop: withdraw every VIP, wait for the peers, leave rings and lo alone', async () => {
  const s = await upAndRunning();
  const r = await s.stop(1000);
  assert.deepEqual(s.rec.since(s.mark), [`withdraw ${P}`, 'flushed']);
  assert.equal(r.flushed, true);
  assert.ok(s.host.addresses.has(VIP), 'VIP stays on lo: the local service may still finish its flows');
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  assert.equal(s.rec.steps.length, s.mark + 2, 'no action after stop');
});

test('stop is bounded when a peer never takes the withdrawal', async () => {
  const s = await upAndRunning();
  s.announcer.peersDrain = false;
  const t0 = s.clock.now();
  const r = await s.stop(100);
  assert.equal(r.flushed, false);
  assert.equal(s.clock.now() - t0, 100, 'stopped at its bound');
  assert.equal(r.ms, 100);
});

test('a withdrawal that never flushes still goes on with rings and lo after the flush timeout', async () => {
  const s = await upAndRunning();
  s.announcer.peersDrain = false;
  s.web().set('h1', 'down', 'check-failed');
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), [`withdraw ${P}`, ...DOWN_RINGS]);
  assert.ok(s.events.includes('withdrawal-flush-timeout'));
  await s.stop(50);
});

test("a remote agent's drain report: out of `new`, then out of `established`, never failed; back when it says so", async () => {
  const s = await upAndRunning();
  s.cluster.report('web', 'h2', { state: 'drained', new: false, established: true });
  await s.idle();
  assert.deepEqual(
    s.rec.since(s.mark),
    ['ring web new [h1]'],
    'its checks still pass: only the report moves it',
  );
  s.cluster.report('web', 'h2', { state: 'drained', new: false, established: false });
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark + 1), ['ring web established [h1]']);
  assert.ok(!s.rec.steps.includes('failed web/h2'), 'a drained instance keeps its flows');
  const h2 = s.agent.status().services[0]!.instances.find((i) => i.id === 'h2')!;
  assert.deepEqual(h2.reported, { state: 'drained', new: false, established: false });
  assert.equal(h2.state, 'up');
  s.cluster.report('web', 'h2', { state: 'up', new: true, established: true });
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark + 2), ['ring web new [h1,h2]', 'ring web established [h1,h2]']);
  assert.deepEqual(s.rec.since(s.mark), [...new Set(s.rec.since(s.mark))], 'no route step, no repeat');
  await s.stop();
});

test('a remote agent reporting its instance down: failed and out of both rings before our checks see it', async () => {
  const s = await upAndRunning();
  s.cluster.report('web', 'h2', { state: 'down', new: true, established: true });
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark), ['ring web new [h1]', 'ring web established [h1]', 'failed web/h2']);
  s.cluster.report('web', 'h2', undefined); // its agent went silent: our own checks (up) decide again
  await s.idle();
  assert.deepEqual(s.rec.since(s.mark + 3), ['ring web new [h1,h2]', 'ring web established [h1,h2]']);
  await s.stop();
});

test('a report can only take an instance out: "up" of an instance our checks see down changes nothing', async () => {
  const s = await upAndRunning();
  s.web().set('h2', 'down', 'check-failed');
  await s.idle();
  const mark = s.rec.steps.length;
  s.cluster.report('web', 'h2', { state: 'up', new: true, established: true });
  await s.idle();
  assert.deepEqual(s.rec.since(mark), []);
  await s.stop();
});

test('what this host reports of its own instance: nothing before settling, then health and ring membership', async () => {
  const s = setup({ drainTime: '80ms' });
  s.web().set('h1', 'up', 'rise-reached');
  await s.idle();
  assert.deepEqual(s.cluster.published, [], 'not settled (h2 unknown): nothing said');
  s.web().set('h2', 'up', 'rise-reached');
  await s.idle();
  assert.ok(s.rec.steps.includes('end-of-rib'));
  s.agent.drain('web');
  await s.idle();
  await s.clock.advance(80);
  assert.ok(s.rec.steps.includes(`lo-remove ${VIP}`));
  s.agent.undrain('web');
  await s.idle();
  s.web().set('h1', 'down', 'socket-gone');
  await s.idle();
  assert.deepEqual(s.cluster.published, [
    'web/h1 up new=true est=true',
    'web/h1 drained new=true est=true',
    'web/h1 drained new=false est=true',
    'web/h1 drained new=false est=false',
    'web/h1 up new=false est=false',
    'web/h1 up new=true est=true',
    'web/h1 down new=true est=true', // at the transition: the others mark it failed at once
    'web/h1 down new=false est=false',
  ]);
  await s.stop();
  assert.equal(s.cluster.published.at(-1), 'web/h1 down new=false est=false', 'stop takes nothing back');
});
