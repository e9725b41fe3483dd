// Random event sequences through the FSM (fixed seed, fake clock): whatever arrives, the FSM never
// throws, every NOTIFICATION it sends has a code/subcode valid per RFC 4271 §6 (and RFC 6608),
// timers run only in the states that own them, session-up and session-down strictly alternate and
// match entering and leaving Established, and OPEN is only sent on the way into OpenSent.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VALID_SUBCODES } from '../../../src/bgp/codec/constants.js';
import type { FsmEvent, FsmState, TimerName } from '../../../src/bgp/fsm.js';
import { seededRandom } from '../rng.js';
import { codecErr, make, PEER_OPEN } from './harness.js';

const STEPS = 20_000;

const notification = { code: 6, subcode: 2, data: Buffer.alloc(0) };
const EVENTS: FsmEvent[] = [
  { type: 'manual-start' },
  { type: 'manual-stop' },
  { type: 'automatic-start' },
  { type: 'automatic-stop', subcode: 1 },
  { type: 'connect-retry-timer-expires' },
  { type: 'hold-timer-expires' },
  { type: 'keepalive-timer-expires' },
  { type: 'idle-hold-timer-expires' },
  { type: 'tcp-cr-acked' },
  { type: 'tcp-connection-confirmed' },
  { type: 'tcp-connection-fails' },
  { type: 'bgp-open', open: PEER_OPEN },
  { type: 'bgp-open', open: { ...PEER_OPEN, holdTime: 0 } },
  { type: 'bgp-open', open: { ...PEER_OPEN, holdTime: 2 } },
  { type: 'bgp-open', open: { ...PEER_OPEN, myAs: 1, capabilities: [] } },
  { type: 'bgp-header-err', error: codecErr(1, 1, 'bad-marker') },
  { type: 'bgp-open-msg-err', error: codecErr(2, 4, 'unsupported-optional-parameter') },
  { type: 'open-collision-dump' },
  { type: 'notif-msg-ver-err', notification },
  { type: 'notif-msg', notification },
  { type: 'keepalive-msg' },
  { type: 'keepalive-msg' },
  { type: 'update-msg' },
  { type: 'route-refresh-msg' },
  { type: 'update-msg-err', error: codecErr(3, 1, 'duplicate-mp-reach-nlri') },
  { type: 'update-sent' },
];

/** Timers a state may have running. */
const TIMERS_OF: Record<FsmState, TimerName[]> = {
  idle: ['idle-hold'],
  connect: ['connect-retry'],
  active: ['connect-retry'],
  'open-sent': ['hold', 'connect-retry'],
  'open-confirm': ['hold', 'keepalive'],
  established: ['hold', 'keepalive'],
};

for (const passive of [false, true]) {
  test(`FSM random walk (${passive ? 'passive' : 'active'}): invariants hold for ${STEPS} events`, () => {
    const rand = seededRandom(passive ? 7 : 4271);
    const h = make({ passive, retryBaseMs: 100, retryMaxMs: 2000 }, rand);
    let up = false;
    const visited = new Set<FsmState>();
    for (let i = 0; i < STEPS; i++) {
      h.actions.length = 0;
      const before = h.fsm.state;
      if (rand() < 0.2) h.clock.advanceSync(Math.floor(rand() * 5000));
      else h.fsm.handle(EVENTS[Math.floor(rand() * EVENTS.length)]!);
      for (const a of h.actions) {
        if (a.type === 'send-notification') {
          assert.ok(VALID_SUBCODES[a.code]?.includes(a.subcode), `notification ${a.code}/${a.subcode}`);
        } else if (a.type === 'session-up') {
          assert.equal(up, false, 'session-up twice');
          up = true;
        } else if (a.type === 'session-down') {
          assert.equal(up, true, 'session-down without session-up');
          up = false;
        } else if (a.type === 'send-open') {
          assert.ok(h.actions.some((x) => x.type === 'state-change' && x.to === 'open-sent'));
        } else if (a.type === 'state-change') {
          assert.match(a.reason, /^[a-z0-9]+(-[a-z0-9]+)*$/);
        }
      }
      const state = h.fsm.state;
      visited.add(state);
      assert.equal(up, state === 'established', `${before} -> ${state}: up=${up}`);
      for (const t of ['connect-retry', 'hold', 'keepalive', 'idle-hold'] as const) {
        if (h.fsm.timerRunning(t)) assert.ok(TIMERS_OF[state].includes(t), `${t} running in ${state}`);
      }
    }
    // a passive speaker never connects, so never sees Connect
    assert.equal(visited.size, passive ? 5 : 6, `visited ${[...visited].join(', ')}`);
    if (passive) assert.ok(!visited.has('connect'));
  });
}
