// Shut (and bring back) one host's BGP sessions at both ToRs while its agent, service and XDP keep
// running: FRR's `neighbor X shutdown` (tor1, through vtysh; RFC 4486 Cease "Administrative Shutdown")
// and BIRD's `disable <protocol>` (tor2, through birdc). The ToRs withdraw the host's routes and stop
// sending it traffic — ECMP moves — while nothing on the host itself changes.
// tor1 goes first, tor2 after it: between the two the host is half cut off (its replies that come back
// through tor1 are lost). ANYCASTD_LAB_SHUT_GAP_MS stretches that window on purpose (a loaded box
// stretches it by itself: vtysh and birdc take seconds there), to study what a host's checks make of it.

import { AS_TOR, type HostName } from './addressing.js';
import { birdc } from './bird.js';
import { sleep } from './exec.js';
import { vtyshConfig } from './frr.js';
import { torPeers } from './peers.js';
import type { Lab } from './topology.js';

/** Extra pause between the two ToRs' changes (ms), for experiments; 0 unless set. */
const SHUT_GAP_MS = Number(process.env.ANYCASTD_LAB_SHUT_GAP_MS ?? 0);

/** Shut (`up` false) or re-enable (`up` true) every session of `host` at tor1 (FRR) and tor2 (BIRD). */
export async function setHostSessions(lab: Lab, host: HostName, up: boolean): Promise<void> {
  const frr = lab.frr.get('tor1');
  const bird = lab.tor2;
  if (!frr || !bird) throw new Error('both ToRs must be running');
  const tor1 = torPeers('tor1').filter((p) => p.peer === host);
  const lines = tor1.map((p) => `${up ? 'no ' : ''}neighbor ${p.peerAddress} shutdown`);
  await vtyshConfig(frr.dir, [`router bgp ${AS_TOR.tor1}`, ...lines]);
  if (SHUT_GAP_MS > 0) await sleep(SHUT_GAP_MS);
  for (const p of torPeers('tor2').filter((q) => q.peer === host))
    await birdc(bird.ctl, `${up ? 'enable' : 'disable'} ${p.name}`);
}
