// A fourth host on demand (the keeping scenario "add a fourth host"): never part of the default three-host lab.
// addHost() creates the host's namespace, its links to both ToRs (lab/addressing.ts EXTRA_LINKS)
// and its host address, then adds its sessions to the running ToRs: FRR through vtysh
// `configure terminal` (the same neighbour lines as bgpd.conf), BIRD by re-rendering its config and
// `birdc configure` (BIRD keeps the sessions whose protocol did not change). removeHost() undoes it.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AS_TOR, EXTRA_LINKS, type HostName } from './addressing.js';
import { birdc } from './bird.js';
import { tryRun } from './exec.js';
import { frrSetNeighbors } from './frr.js';
import { createNamespace, removeNamespace } from './netns.js';
import { torPeers } from './peers.js';
import { routerConfig } from './router-config.js';
import { addHostAddress, type Lab, wireLinks } from './topology.js';

async function reconfigureTor2(lab: Lab): Promise<void> {
  const bird = lab.tor2;
  if (!bird) throw new Error('tor2 is not running');
  const conf = routerConfig('tor2', lab.hosts, join(bird.dir, 'bird.log'), {
    gracefulRestart: lab.gracefulRestart,
  });
  writeFileSync(join(bird.dir, 'bird.conf'), conf);
  const out = await birdc(bird.ctl, 'configure');
  if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure: ${out}`);
}

function tor1Dir(lab: Lab): string {
  const frr = lab.frr.get('tor1');
  if (!frr) throw new Error('tor1 is not running');
  return frr.dir;
}

/** Wire `host` into the running fabric and give both ToRs its sessions (it has no speaker yet). */
export async function addHost(lab: Lab, host: HostName): Promise<void> {
  if (lab.hosts.includes(host)) throw new RangeError(`${host} is already in the lab`);
  createNamespace(lab.ns(host));
  wireLinks(
    lab,
    EXTRA_LINKS.filter((l) => l.b.node === host),
  );
  addHostAddress(lab, host);
  lab.hosts.push(host);
  const peers = torPeers('tor1', lab.hosts).filter((p) => p.peer === host);
  await frrSetNeighbors(tor1Dir(lab), AS_TOR.tor1, peers, true);
  await reconfigureTor2(lab);
}

/** Remove `host`'s sessions from both ToRs and delete its namespace (stop its processes first). */
export async function removeHost(lab: Lab, host: HostName): Promise<void> {
  const peers = torPeers('tor1', lab.hosts).filter((p) => p.peer === host);
  lab.hosts.splice(lab.hosts.indexOf(host), 1);
  await frrSetNeighbors(tor1Dir(lab), AS_TOR.tor1, peers, false);
  await reconfigureTor2(lab);
  removeNamespace(lab.ns(host));
  // The ToR ends go too, at once: a namespace outlives `ip netns del` while anything still holds it (an
  // orphaned socket), and so would its veth pairs — the next addHost() then finds dn4 taken (seen once).
  for (const l of EXTRA_LINKS.filter((x) => x.b.node === host))
    tryRun('ip', ['-n', lab.ns(l.a.node), 'link', 'del', l.a.ifname]);
}
