// `show peer NAME` as text: besides the session, the routes rejected by reason and the liveness
// (BFD, link) the table of `show peers` shows, with "-" where there is nothing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PeerDetailInfo } from '../../src/api/types.js';
import { peerText } from '../../src/cli/peer.js';

const detail = (over: Partial<PeerDetailInfo['peer']>): PeerDetailInfo => ({
  peer: {
    name: 'tor1',
    address: '192.0.2.0',
    remoteAsn: 65001,
    state: 'established',
    establishedSince: Date.now() / 1000 - 5,
    flaps: 0,
    prefixesAdvertised: 1,
    prefixesReceived: 2,
    prefixesAccepted: 1,
    lastError: '',
    bfd: '',
    link: '',
    routesRejected: [
      { reason: 'nexthop-own-address', count: 1 },
      { reason: 'family-not-negotiated', count: 0 },
    ],
    ...over,
  },
  peerId: '192.0.2.101',
  holdTime: 3,
  keepalive: 1,
  capabilitiesOffered: [],
  capabilitiesNegotiated: [],
  messagesIn: 0,
  messagesOut: 0,
  updatesIn: 0,
  updatesOut: 0,
  notificationsIn: 0,
  notificationsOut: 0,
  routeRefreshIn: 0,
  lastNotificationIn: '',
  lastNotificationOut: '',
});

test('show peer: rejected routes by reason, BFD and link state', () => {
  const text = peerText(detail({ bfd: 'up 100ms x3', link: 'up' }));
  assert.match(text, /^rejected +nexthop-own-address=1$/m);
  assert.match(text, /^liveness +bfd up 100ms x3, link up$/m);
});

test('show peer: nothing rejected, no BFD, link unknown: dashes', () => {
  const text = peerText(detail({ routesRejected: [{ reason: 'nexthop-own-address', count: 0 }] }));
  assert.match(text, /^rejected +-$/m);
  assert.match(text, /^liveness +bfd -, link -$/m);
});
