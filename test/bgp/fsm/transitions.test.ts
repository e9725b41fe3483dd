// Every RFC 4271 §8.2.2 transition the FSM implements, as a table of {state, event, next state,
// actions}: each row drives a fresh FSM (fake clock, jitter pinned) into the state, applies one
// event and compares the state and the non-timer actions, NOTIFICATION code/subcode included.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FsmEvent, FsmState } from '../../../src/bgp/fsm.js';
import { brief, codecErr, make, PEER_OPEN, reach } from './harness.js';

interface Row {
  from: FsmState;
  event: FsmEvent | { advanceMs: number };
  to: FsmState;
  actions: string[];
  cfg?: Parameters<typeof make>[0];
}

const open = (o: Partial<typeof PEER_OPEN>): FsmEvent => ({ type: 'bgp-open', open: { ...PEER_OPEN, ...o } });
const notif = { code: 6, subcode: 2, data: Buffer.alloc(0) };

const ROWS: Row[] = [
  // Idle
  {
    from: 'idle',
    event: { type: 'manual-start' },
    to: 'connect',
    actions: ['connect', 'idle -> connect (manual-start)'],
  },
  {
    from: 'idle',
    event: { type: 'automatic-start' },
    to: 'connect',
    actions: ['connect', 'idle -> connect (automatic-start)'],
  },
  {
    from: 'idle',
    event: { type: 'manual-start' },
    cfg: { passive: true },
    to: 'active',
    actions: ['idle -> active (manual-start)'],
  },
  { from: 'idle', event: { type: 'keepalive-msg' }, to: 'idle', actions: [] },
  { from: 'idle', event: { type: 'tcp-connection-confirmed' }, to: 'idle', actions: [] },
  { from: 'idle', event: { type: 'manual-stop' }, to: 'idle', actions: [] },
  // Connect
  { from: 'connect', event: { type: 'manual-start' }, to: 'connect', actions: [] },
  {
    from: 'connect',
    event: { type: 'manual-stop' },
    to: 'idle',
    actions: ['drop-connection', 'connect -> idle (manual-stop)'],
  },
  { from: 'connect', event: { advanceMs: 1000 }, to: 'connect', actions: ['drop-connection', 'connect'] },
  {
    from: 'connect',
    event: { type: 'tcp-cr-acked' },
    to: 'open-sent',
    actions: ['send-open', 'connect -> open-sent (connection-established)'],
  },
  {
    from: 'connect',
    event: { type: 'tcp-connection-confirmed' },
    to: 'open-sent',
    actions: ['send-open', 'connect -> open-sent (connection-established)'],
  },
  {
    from: 'connect',
    event: { type: 'tcp-connection-fails' },
    to: 'idle',
    actions: ['drop-connection', 'connect -> idle (connection-failed)'],
  },
  {
    from: 'connect',
    event: open({}),
    to: 'idle',
    actions: ['drop-connection', 'connect -> idle (unexpected-bgp-open-in-connect)'],
  },
  // Active (passive peer unless noted)
  {
    from: 'active',
    cfg: { passive: true },
    event: { type: 'manual-stop' },
    to: 'idle',
    actions: ['drop-connection', 'active -> idle (manual-stop)'],
  },
  { from: 'active', cfg: { passive: true }, event: { advanceMs: 1000 }, to: 'active', actions: [] },
  {
    from: 'active',
    event: { advanceMs: 1000 },
    to: 'connect',
    actions: ['connect', 'active -> connect (connect-retry-timer-expired)'],
  },
  {
    from: 'active',
    cfg: { passive: true },
    event: { type: 'tcp-connection-confirmed' },
    to: 'open-sent',
    actions: ['send-open', 'active -> open-sent (connection-established)'],
  },
  {
    from: 'active',
    cfg: { passive: true },
    event: { type: 'tcp-connection-fails' },
    to: 'idle',
    actions: ['drop-connection', 'active -> idle (connection-failed)'],
  },
  {
    from: 'active',
    cfg: { passive: true },
    event: { type: 'keepalive-msg' },
    to: 'idle',
    actions: ['drop-connection', 'active -> idle (unexpected-keepalive-msg-in-active)'],
  },
  // OpenSent
  {
    from: 'open-sent',
    event: { type: 'manual-stop' },
    to: 'idle',
    actions: ['notify 6/2', 'drop-connection', 'open-sent -> idle (manual-stop)'],
  },
  {
    from: 'open-sent',
    event: { type: 'automatic-stop' },
    to: 'idle',
    actions: ['notify 6/0', 'drop-connection', 'open-sent -> idle (automatic-stop)'],
  },
  {
    from: 'open-sent',
    event: { advanceMs: 240_000 },
    to: 'idle',
    actions: ['notify 4/0', 'drop-connection', 'open-sent -> idle (hold-timer-expired)'],
  },
  {
    from: 'open-sent',
    event: { type: 'tcp-connection-fails' },
    to: 'active',
    actions: ['drop-connection', 'open-sent -> active (connection-failed)'],
  },
  {
    from: 'open-sent',
    event: open({}),
    to: 'open-confirm',
    actions: ['send-keepalive', 'open-sent -> open-confirm (open-received)'],
  },
  {
    from: 'open-sent',
    event: open({ myAs: 65003, capabilities: [] }),
    to: 'idle',
    actions: ['notify 2/2 fdeb', 'drop-connection', 'open-sent -> idle (bad-peer-as)'],
  },
  {
    from: 'open-sent',
    event: open({ capabilities: [{ kind: 'four-octet-as', asn: 4200000000 }], myAs: 23456 }),
    to: 'idle',
    actions: ['notify 2/2 5ba0', 'drop-connection', 'open-sent -> idle (bad-peer-as)'],
  },
  {
    from: 'open-sent',
    event: open({ version: 3 }),
    to: 'idle',
    actions: ['notify 2/1 0004', 'drop-connection', 'open-sent -> idle (unsupported-version)'],
  },
  {
    from: 'open-sent',
    event: open({ bgpId: '0.0.0.0' }),
    to: 'idle',
    actions: ['notify 2/3', 'drop-connection', 'open-sent -> idle (bad-bgp-identifier)'],
  },
  {
    from: 'open-sent',
    cfg: { peerAs: 65001 },
    event: open({ myAs: 65001, bgpId: '192.0.2.1', capabilities: [] }),
    to: 'idle',
    actions: ['notify 2/3', 'drop-connection', 'open-sent -> idle (bad-bgp-identifier)'],
  },
  {
    from: 'open-sent',
    event: open({ holdTime: 2 }),
    to: 'idle',
    actions: ['notify 2/6', 'drop-connection', 'open-sent -> idle (unacceptable-hold-time)'],
  },
  {
    from: 'open-sent',
    event: open({ holdTime: 1 }),
    to: 'idle',
    actions: ['notify 2/6', 'drop-connection', 'open-sent -> idle (unacceptable-hold-time)'],
  },
  {
    from: 'open-sent',
    cfg: { requiredCapabilities: [2, 65] },
    event: open({}),
    to: 'idle',
    actions: ['notify 2/7 0200', 'drop-connection', 'open-sent -> idle (unsupported-capability)'],
  },
  {
    from: 'open-sent',
    event: { type: 'bgp-header-err', error: codecErr(1, 1, 'bad-marker') },
    to: 'idle',
    actions: ['notify 1/1', 'drop-connection', 'open-sent -> idle (bad-marker)'],
  },
  {
    from: 'open-sent',
    event: { type: 'bgp-open-msg-err', error: codecErr(2, 4, 'unsupported-optional-parameter') },
    to: 'idle',
    actions: ['notify 2/4', 'drop-connection', 'open-sent -> idle (unsupported-optional-parameter)'],
  },
  {
    from: 'open-sent',
    event: { type: 'open-collision-dump' },
    to: 'idle',
    actions: ['notify 6/7', 'drop-connection', 'open-sent -> idle (connection-collision)'],
  },
  {
    from: 'open-sent',
    event: {
      type: 'notif-msg-ver-err',
      notification: { code: 2, subcode: 1, data: Buffer.from('0003', 'hex') },
    },
    to: 'idle',
    actions: ['drop-connection', 'open-sent -> idle (notification-version-error)'],
  },
  {
    from: 'open-sent',
    event: { type: 'notif-msg', notification: notif },
    to: 'idle',
    actions: ['drop-connection', 'open-sent -> idle (notification-received)'],
  },
  {
    from: 'open-sent',
    event: { type: 'keepalive-msg' },
    to: 'idle',
    actions: ['notify 5/1', 'drop-connection', 'open-sent -> idle (unexpected-keepalive-msg-in-open-sent)'],
  },
  {
    from: 'open-sent',
    event: { type: 'update-msg' },
    to: 'idle',
    actions: ['notify 5/1', 'drop-connection', 'open-sent -> idle (unexpected-update-msg-in-open-sent)'],
  },
  { from: 'open-sent', event: { type: 'tcp-connection-confirmed' }, to: 'open-sent', actions: [] },
  // OpenConfirm
  {
    from: 'open-confirm',
    event: { type: 'manual-stop' },
    to: 'idle',
    actions: ['notify 6/2', 'drop-connection', 'open-confirm -> idle (manual-stop)'],
  },
  {
    from: 'open-confirm',
    event: { type: 'automatic-stop', subcode: 8 },
    to: 'idle',
    actions: ['notify 6/8', 'drop-connection', 'open-confirm -> idle (automatic-stop)'],
  },
  {
    from: 'open-confirm',
    event: { advanceMs: 90_000 },
    to: 'idle',
    actions: [
      'send-keepalive',
      'send-keepalive',
      'notify 4/0',
      'drop-connection',
      'open-confirm -> idle (hold-timer-expired)',
    ],
  },
  {
    from: 'open-confirm',
    event: { type: 'keepalive-timer-expires' },
    to: 'open-confirm',
    actions: ['send-keepalive'],
  },
  {
    from: 'open-confirm',
    event: { type: 'tcp-connection-fails' },
    to: 'idle',
    actions: ['drop-connection', 'open-confirm -> idle (connection-failed)'],
  },
  {
    from: 'open-confirm',
    event: { type: 'notif-msg', notification: notif },
    to: 'idle',
    actions: ['drop-connection', 'open-confirm -> idle (notification-received)'],
  },
  {
    from: 'open-confirm',
    event: { type: 'bgp-header-err', error: codecErr(1, 2, 'bad-message-length') },
    to: 'idle',
    actions: ['notify 1/2', 'drop-connection', 'open-confirm -> idle (bad-message-length)'],
  },
  {
    from: 'open-confirm',
    event: { type: 'open-collision-dump' },
    to: 'idle',
    actions: ['notify 6/7', 'drop-connection', 'open-confirm -> idle (connection-collision)'],
  },
  {
    from: 'open-confirm',
    event: { type: 'keepalive-msg' },
    to: 'established',
    actions: ['open-confirm -> established (keepalive-received)', 'session-up hold 90 keepalive 30'],
  },
  {
    from: 'open-confirm',
    event: { type: 'update-msg' },
    to: 'idle',
    actions: [
      'notify 5/2',
      'drop-connection',
      'open-confirm -> idle (unexpected-update-msg-in-open-confirm)',
    ],
  },
  {
    from: 'open-confirm',
    event: open({}),
    to: 'idle',
    actions: ['notify 5/2', 'drop-connection', 'open-confirm -> idle (unexpected-bgp-open-in-open-confirm)'],
  },
  // Established
  {
    from: 'established',
    event: { type: 'manual-stop', data: Buffer.from('03627965', 'hex') },
    to: 'idle',
    actions: [
      'notify 6/2 03627965',
      'drop-connection',
      'established -> idle (manual-stop)',
      'session-down (manual-stop)',
    ],
  },
  {
    from: 'established',
    event: { type: 'automatic-stop', subcode: 1 },
    to: 'idle',
    actions: [
      'notify 6/1',
      'drop-connection',
      'established -> idle (automatic-stop)',
      'session-down (automatic-stop)',
    ],
  },
  {
    from: 'established',
    event: { type: 'keepalive-timer-expires' },
    to: 'established',
    actions: ['send-keepalive'],
  },
  { from: 'established', event: { type: 'keepalive-msg' }, to: 'established', actions: [] },
  { from: 'established', event: { type: 'update-msg' }, to: 'established', actions: [] },
  { from: 'established', event: { type: 'route-refresh-msg' }, to: 'established', actions: [] },
  { from: 'established', event: { type: 'update-sent' }, to: 'established', actions: [] },
  { from: 'established', event: { type: 'tcp-connection-confirmed' }, to: 'established', actions: [] },
  {
    from: 'established',
    event: { type: 'tcp-connection-fails' },
    to: 'idle',
    actions: [
      'drop-connection',
      'established -> idle (connection-failed)',
      'session-down (connection-failed)',
    ],
  },
  {
    from: 'established',
    event: { type: 'notif-msg', notification: notif },
    to: 'idle',
    actions: [
      'drop-connection',
      'established -> idle (notification-received)',
      'session-down (notification-received)',
    ],
  },
  {
    from: 'established',
    event: { type: 'update-msg-err', error: codecErr(3, 1, 'duplicate-mp-reach-nlri') },
    to: 'idle',
    actions: [
      'notify 3/1',
      'drop-connection',
      'established -> idle (duplicate-mp-reach-nlri)',
      'session-down (duplicate-mp-reach-nlri)',
    ],
  },
  {
    from: 'established',
    event: open({}),
    to: 'idle',
    actions: [
      'notify 5/3',
      'drop-connection',
      'established -> idle (unexpected-bgp-open-in-established)',
      'session-down (unexpected-bgp-open-in-established)',
    ],
  },
  {
    from: 'established',
    event: { type: 'open-collision-dump' },
    to: 'idle',
    actions: [
      'notify 6/7',
      'drop-connection',
      'established -> idle (connection-collision)',
      'session-down (connection-collision)',
    ],
  },
  {
    from: 'established',
    event: { type: 'connect-retry-timer-expires' },
    to: 'idle',
    actions: [
      'notify 5/3',
      'drop-connection',
      'established -> idle (unexpected-connect-retry-timer-expires-in-established)',
      'session-down (unexpected-connect-retry-timer-expires-in-established)',
    ],
  },
];

for (const row of ROWS) {
  const label = 'advanceMs' in row.event ? `${row.event.advanceMs} ms pass` : row.event.type;
  test(`${row.from} + ${label}${row.cfg ? ` ${JSON.stringify(row.cfg)}` : ''} → ${row.to}`, () => {
    const h = make(row.cfg);
    reach(h, row.from);
    assert.equal(h.fsm.state, row.from);
    h.actions.length = 0;
    if ('advanceMs' in row.event) h.clock.advanceSync(row.event.advanceMs);
    else h.fsm.handle(row.event);
    assert.equal(h.fsm.state, row.to);
    assert.deepEqual(brief(h.actions), row.actions);
  });
}

test('Established: hold timer expiry sends Hold Timer Expired after keepalives kept flowing', () => {
  const h = make();
  reach(h, 'established');
  h.actions.length = 0;
  h.clock.advanceSync(89_999);
  assert.equal(h.fsm.state, 'established');
  assert.deepEqual(brief(h.actions), ['send-keepalive', 'send-keepalive']);
  h.clock.advanceSync(1);
  assert.equal(h.fsm.state, 'idle');
  assert.deepEqual(brief(h.actions).slice(2), [
    'notify 4/0',
    'drop-connection',
    'established -> idle (hold-timer-expired)',
    'session-down (hold-timer-expired)',
  ]);
});

test('Established: each KEEPALIVE or UPDATE received restarts the hold timer', () => {
  const h = make();
  reach(h, 'established');
  for (let i = 0; i < 5; i++) {
    h.clock.advanceSync(80_000);
    h.fsm.handle({ type: i % 2 ? 'keepalive-msg' : 'update-msg' });
  }
  assert.equal(h.fsm.state, 'established');
});
