// Hold-time negotiation (RFC 4271 §4.2: the smaller hold time, 0 = no keepalives, keepalive a third),
// connect-retry / restart backoff with jitter, the ConnectRetryCounter, collision resolution (§6.8)
// and re-entrant events from the action handler.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collisionSurvivor } from '../../../src/bgp/fsm/collision.js';
import { Fsm, type FsmAction } from '../../../src/bgp/fsm.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { brief, LOCAL, make, PEER_OPEN, reach, timerStarts } from './harness.js';

function negotiate(local: number, peer: number, keepaliveTime?: number) {
  const h = make({ holdTime: local, keepaliveTime });
  reach(h, 'open-sent');
  h.actions.length = 0;
  h.fsm.handle({ type: 'bgp-open', open: { ...PEER_OPEN, holdTime: peer } });
  return h;
}

test('hold time: the smaller of both; keepalive a third of it', () => {
  const h = negotiate(90, 30);
  assert.equal(h.fsm.negotiated?.holdTime, 30);
  assert.equal(h.fsm.negotiated?.keepaliveTime, 10);
  assert.deepEqual(timerStarts(h.actions), ['keepalive 10000', 'hold 30000']);
  assert.equal(negotiate(9, 240).fsm.negotiated?.keepaliveTime, 3);
  assert.equal(negotiate(4, 240).fsm.negotiated?.keepaliveTime, 1);
  assert.equal(negotiate(90, 90, 5).fsm.negotiated?.keepaliveTime, 5);
  assert.equal(negotiate(90, 90, 60).fsm.negotiated?.keepaliveTime, 30); // never more than a third
});

test('hold time 0 on either side: no hold timer, no keepalives, session stays up', () => {
  for (const [local, peer] of [
    [0, 90],
    [90, 0],
  ] as const) {
    const h = negotiate(local, peer);
    assert.equal(h.fsm.negotiated?.holdTime, 0);
    assert.deepEqual(brief(h.actions), ['send-keepalive', 'open-sent -> open-confirm (open-received)']);
    assert.equal(h.fsm.timerRunning('hold'), false);
    assert.equal(h.fsm.timerRunning('keepalive'), false);
    h.fsm.handle({ type: 'keepalive-msg' });
    h.actions.length = 0;
    h.clock.advanceSync(24 * 3600 * 1000);
    assert.equal(h.fsm.state, 'established');
    assert.deepEqual(h.actions, []);
  }
});

test('OpenSent waits 240 s for the OPEN (large hold timer)', () => {
  const h = make();
  reach(h, 'open-sent');
  assert.ok(timerStarts(h.actions).includes('hold 240000'));
});

test('restart backoff: idle hold doubles per failure, capped, reset by Established', () => {
  const h = make({ retryBaseMs: 1000, retryMaxMs: 8000 });
  h.fsm.handle({ type: 'manual-start' });
  const idleHolds: number[] = [];
  for (let i = 0; i < 5; i++) {
    h.actions.length = 0;
    h.fsm.handle({ type: 'tcp-connection-fails' });
    const start = h.actions.find(
      (a): a is Extract<FsmAction, { type: 'timer-start' }> =>
        a.type === 'timer-start' && a.timer === 'idle-hold',
    );
    idleHolds.push(start!.ms);
    h.clock.advanceSync(start!.ms); // automatic restart
    assert.equal(h.fsm.state, 'connect');
  }
  assert.deepEqual(idleHolds, [2000, 4000, 8000, 8000, 8000]);
  h.fsm.handle({ type: 'tcp-cr-acked' });
  h.fsm.handle({ type: 'bgp-open', open: PEER_OPEN });
  h.fsm.handle({ type: 'keepalive-msg' });
  assert.equal(h.fsm.failures, 0);
  h.actions.length = 0;
  h.fsm.handle({ type: 'tcp-connection-fails' });
  assert.deepEqual(timerStarts(h.actions), ['idle-hold 2000']);
});

test('jitter scales retry delays into [0.75, 1] of the plain value', () => {
  for (const [r, expected] of [
    [0, 750],
    [0.5, 875],
    [1, 1000],
  ] as const) {
    const h = make({}, () => r);
    h.fsm.handle({ type: 'manual-start' });
    assert.deepEqual(timerStarts(h.actions), [`connect-retry ${expected}`]);
  }
});

test('a connect attempt that hangs is retried with a growing connect-retry time', () => {
  const h = make();
  h.fsm.handle({ type: 'manual-start' });
  h.clock.advanceSync(1000 + 2000 + 4000);
  assert.deepEqual(timerStarts(h.actions), [
    'connect-retry 1000',
    'connect-retry 2000',
    'connect-retry 4000',
    'connect-retry 8000',
  ]);
  assert.equal(brief(h.actions).filter((a) => a === 'connect').length, 4);
});

test('autoRestart off: Idle stays Idle after an error', () => {
  const h = make({ autoRestart: false });
  h.fsm.handle({ type: 'manual-start' });
  h.fsm.handle({ type: 'tcp-connection-fails' });
  h.clock.advanceSync(600_000);
  assert.equal(h.fsm.state, 'idle');
  assert.equal(h.clock.pending, 0);
});

test('manual stop: no automatic restart, counter reset; errors count', () => {
  const h = make();
  reach(h, 'open-sent');
  h.fsm.handle({ type: 'keepalive-msg' }); // FSM error → counter 1
  assert.equal(h.fsm.connectRetryCounter, 1);
  h.clock.advanceSync(2000);
  assert.equal(h.fsm.state, 'connect');
  h.fsm.handle({ type: 'manual-stop' });
  assert.equal(h.fsm.connectRetryCounter, 0);
  assert.equal(h.fsm.timerRunning('idle-hold'), false);
  h.clock.advanceSync(600_000);
  assert.equal(h.fsm.state, 'idle');
});

test('collision: the connection opened by the higher BGP identifier survives (unsigned compare)', () => {
  assert.equal(collisionSurvivor('192.0.2.1', '192.0.2.2'), 'inbound');
  assert.equal(collisionSurvivor('192.0.2.2', '192.0.2.1'), 'outbound');
  assert.equal(collisionSurvivor('203.0.113.1', '10.0.0.1'), 'outbound'); // would flip with a signed compare
  assert.equal(collisionSurvivor('10.0.0.1', '203.0.113.1'), 'inbound');
});

test('events raised from inside the action handler are queued, not re-entered', () => {
  const clock = new FakeClock();
  const log: string[] = [];
  const fsm: Fsm = new Fsm(LOCAL, {
    clock,
    random: () => 1,
    output: (a) => {
      log.push(a.type === 'state-change' ? `${a.from}->${a.to}` : a.type);
      if (a.type === 'connect') fsm.handle({ type: 'tcp-connection-fails' }); // connect refused at once
    },
  });
  fsm.handle({ type: 'manual-start' });
  assert.equal(fsm.state, 'idle');
  assert.deepEqual(
    log.filter((l) => !l.startsWith('timer')),
    ['connect', 'idle->connect', 'drop-connection', 'connect->idle'],
  );
});
