// Peer liveness end to end, the quick version of `make bench`'s bfd bench: a real agent with BFD to an
// FRR ToR (bfdd) and a BIRD ToR (protocol bfd), one trial of each fault per ToR — a frozen ToR, a
// blackholed link (carrier up), the ToR's end of the link down, a frozen host — each detected and the
// route changed well under the 3 s hold time (bound: half of it, for a loaded box; BFD's own
// detection time is 300 ms).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BfdLab, HOLD_TIME_MS, type Scenario, type Tor } from '../../lab/bfd-lab.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';

const lab = new SpeakerLab('bfdlab');
const BOUND_MS = HOLD_TIME_MS / 2;
const SCENARIOS: Scenario[] = ['freeze-tor', 'blackhole', 'link-down', 'freeze-host'];

test('BFD and link state take a failed ToR, link or host out well under the hold time (FRR and BIRD)', {
  timeout: 240_000,
}, async () => {
  const bench = new BfdLab(lab.procs, lab.prefix, lab.dir, true);
  await bench.start();
  const metrics = bench.metrics();
  for (const peer of ['frr', 'bird']) {
    assert.match(metrics, new RegExp(`anycastd_bfd_session_up\\{peer="${peer}"\\} 1`), metrics);
    assert.match(metrics, new RegExp(`anycastd_peer_link_up\\{peer="${peer}"\\} 1`));
    assert.match(metrics, new RegExp(`anycastd_bfd_packets_received_total\\{peer="${peer}"\\} [1-9]`));
  }
  assert.match(metrics, /anycastd_bfd_packets_dropped_total\{reason="ttl"\} 0/);
  const peers = await bench.showPeers();
  assert.match(peers, /BFD/);
  assert.equal((peers.match(/up 100ms x3/g) ?? []).length, 2, peers);
  const figures: string[] = [];
  for (const scenario of SCENARIOS)
    for (const tor of ['frr', 'bird'] as Tor[]) {
      const ms = await bench.trial(scenario, tor, HOLD_TIME_MS * 3);
      figures.push(`${scenario}@${tor} ${ms.toFixed(0)} ms`);
      assert.ok(ms < BOUND_MS, `${scenario} at ${tor}: ${ms.toFixed(0)} ms (hold time ${HOLD_TIME_MS} ms)`);
    }
  console.log(`# ${figures.join(', ')}`);
});
