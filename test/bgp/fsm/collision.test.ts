// The §6.8 decision table (fsm/collision.ts): which connection stays when a held one sends its OPEN.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collisionSurvivor, type OwnConnection, resolveHeld } from '../../../src/bgp/fsm/collision.js';

const LOW = '192.0.2.1';
const HIGH = '192.0.2.200';

function own(o: Partial<OwnConnection>): OwnConnection {
  return { state: 'open-sent', direction: 'outbound', connected: true, peerRestarts: false, ...o };
}

test('collisionSurvivor: the higher identifier keeps the connection it opened (unsigned)', () => {
  assert.equal(collisionSurvivor(LOW, HIGH), 'inbound');
  assert.equal(collisionSurvivor(HIGH, LOW), 'outbound');
  assert.equal(collisionSurvivor('10.0.0.1', '200.0.0.1'), 'inbound', 'compared unsigned');
});

test('resolveHeld: only connections carrying the peer OPEN collide', () => {
  const cases: [string, OwnConnection, string, string, ReturnType<typeof resolveHeld>][] = [
    ['Established, no GR', own({ state: 'established' }), LOW, HIGH, { action: 'reject' }],
    [
      'Established, peer GR',
      own({ state: 'established', peerRestarts: true }),
      LOW,
      HIGH,
      { action: 'restart' },
    ],
    [
      'OpenConfirm ours, peer higher',
      own({ state: 'open-confirm' }),
      LOW,
      HIGH,
      { action: 'adopt', dropOurs: 'collision' },
    ],
    ['OpenConfirm ours, we higher', own({ state: 'open-confirm' }), HIGH, LOW, { action: 'reject' }],
    [
      'OpenConfirm on a peer connection',
      own({ state: 'open-confirm', direction: 'inbound' }),
      LOW,
      HIGH,
      { action: 'reject' },
    ],
    ['OpenSent ours, peer higher', own({}), LOW, HIGH, { action: 'adopt', dropOurs: 'collision' }],
    ['OpenSent ours, we higher: wait for ours', own({}), HIGH, LOW, { action: 'defer' }],
    [
      'ours still connecting, peer higher',
      own({ state: 'connect', connected: false }),
      LOW,
      HIGH,
      { action: 'adopt', dropOurs: 'none' },
    ],
    [
      'ours still connecting, we higher',
      own({ state: 'connect', connected: false }),
      HIGH,
      LOW,
      { action: 'defer' },
    ],
    [
      'silent peer connection in OpenSent, peer higher',
      own({ direction: 'inbound' }),
      LOW,
      HIGH,
      { action: 'adopt', dropOurs: 'stalled' },
    ],
    [
      'silent peer connection in OpenSent, we higher',
      own({ direction: 'inbound' }),
      HIGH,
      LOW,
      { action: 'adopt', dropOurs: 'stalled' },
    ],
    [
      'Idle, nothing of ours',
      own({ state: 'idle', direction: undefined, connected: false }),
      LOW,
      HIGH,
      { action: 'adopt', dropOurs: 'none' },
    ],
  ];
  for (const [what, o, local, peer, want] of cases) assert.deepEqual(resolveHeld(o, local, peer), want, what);
});
