// Graceful restart as the restarting speaker (RFC 4724), the pure parts: the config (on by default,
// restart time bounded), the capability in our OPEN (F bit per family, R bit while restarting, helper
// only when off), and the daemon's rule for a stop (SIGTERM keeps, SIGINT withdraws) and a start.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findCapability } from '../../src/bgp/codec/capabilities.js';
import { decodeMessage } from '../../src/bgp/codec/message.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import { sessionOptions } from '../../src/bgp/peer-config.js';
import { buildOpen } from '../../src/bgp/session-open.js';
import { parseConfig } from '../../src/config/load.js';
import { startIsRestart, stopKeepsRoutes } from '../../src/daemon/restart-rule.js';
import { ConfigError } from '../../src/errors.js';
import { variant } from '../config/fixtures.js';

const FILE = '/etc/anycastd/test.yaml';
const HOLD = '      hold_time: 9s\n';

function config(peerLines = '') {
  return parseConfig(variant(HOLD, `${HOLD}${peerLines}`), FILE);
}

function grOf(open: ReturnType<typeof buildOpen>) {
  const wire = decodeMessage(encodeOpen(open), { as4: true, ebgp: true });
  assert.equal(wire.type, 'open');
  return findCapability(wire.type === 'open' ? wire.capabilities : [], 'graceful-restart');
}

test('config: graceful restart on by default with a 30 s restart time; bounded 1 s to 5 m', () => {
  assert.deepEqual(config().peers[0]!.gracefulRestart, { enabled: true, restartTimeMs: 30_000 });
  const off = config('      graceful_restart: { enabled: false, restart_time: 2m }\n');
  assert.deepEqual(off.peers[0]!.gracefulRestart, { enabled: false, restartTimeMs: 120_000 });
  for (const bad of ['10m', '500ms'])
    assert.throws(
      () => config(`      graceful_restart: { restart_time: ${bad} }\n`),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.issues.some((i) => String(i.path).includes('graceful_restart.restart_time')),
    );
});

test('OPEN: F bit on every family, R bit only while restarting; helper only when off', () => {
  const cfg = config();
  const state = { restarting: true };
  const o = sessionOptions(cfg.peers[0]!, cfg.node, { restartState: state });
  const restarting = grOf(buildOpen(o));
  assert.deepEqual(restarting, {
    kind: 'graceful-restart',
    restarting: true,
    notification: false,
    time: 30,
    families: [{ afi: 1, safi: 1, forwardingPreserved: true }],
  });
  state.restarting = false; // End-of-RIB released: later OPENs carry no R bit
  assert.equal(grOf(buildOpen(o))?.restarting, false);
  const off = config('      graceful_restart: { enabled: false }\n');
  const helper = grOf(buildOpen(sessionOptions(off.peers[0]!, off.node, { restartState: state })));
  assert.deepEqual(helper?.families, [], 'a helper preserves no family');
});

test('the stop rule: SIGTERM keeps the routes when a peer has graceful restart, SIGINT never', () => {
  const on = config();
  const off = config('      graceful_restart: { enabled: false }\n');
  assert.equal(stopKeepsRoutes(on, 'SIGTERM'), true);
  assert.equal(stopKeepsRoutes(on, 'SIGINT'), false);
  assert.equal(stopKeepsRoutes(off, 'SIGTERM'), false);
  assert.equal(startIsRestart(on, 2_000), true, 'pins 2 s old: the peers may hold our routes');
  assert.equal(startIsRestart(on, 31_000), false, 'older than the restart time');
  assert.equal(startIsRestart(on, null), false, 'no pins adopted');
  assert.equal(startIsRestart(off, 2_000), false);
});
