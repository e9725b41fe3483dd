// The lab of the ops end-to-end tests: a host namespace and an FRR ToR namespace joined by one veth
// (/31 link), FRR originating a default route to the host and accepting its host routes over one IPv4
// session. The speaker runs in the test process with its sockets in the host namespace.
import { join } from 'node:path';
import { renderBgpd, startFrr } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import type { SpeakerLab } from '../bgp/speaker-lab.js';

export const HOST_AS = 4_200_000_011;
export const TOR_AS = 65001;
export const HOST4 = '198.51.100.11';
export const LINK = { h4: '192.0.2.0', t4: '192.0.2.1' };
const TOR_ROUTER_ID = '192.0.2.101';

/** The agent config's node and bgp sections for this lab (services follow). */
export const NODE_AND_PEER_YAML = `node:
  id: h1
  host: { ipv4: ${HOST4} }
  asn: ${HOST_AS}
  uplinks: [to-tor1]
bgp:
  peers:
    - { name: tor1, address: ${LINK.t4}, remote_asn: ${TOR_AS}, hold_time: 9s }
`;

/** The namespaces of `lab` (host `h`, ToR `t1`) and FRR's directory. */
export function torLabNames(lab: SpeakerLab): { host: string; tor1: string; frrDir: string } {
  return { host: lab.ns('h'), tor1: lab.ns('t1'), frrDir: join(lab.dir, 'tor1') };
}

/** Creates both namespaces and the link, and starts FRR on the ToR. */
export async function startTorLab(lab: SpeakerLab): Promise<void> {
  const ns = torLabNames(lab);
  createNamespace(ns.host);
  createNamespace(ns.tor1);
  createVeth(ns.host, 'to-tor1', ns.tor1, 'to-host');
  addAddress(ns.host, 'to-tor1', `${LINK.h4}/31`);
  addAddress(ns.tor1, 'to-host', `${LINK.t4}/31`);
  linkUp(ns.host, 'to-tor1');
  linkUp(ns.tor1, 'to-host');
  await startFrr(
    lab.procs,
    ns.tor1,
    ns.frrDir,
    'tor1',
    renderBgpd('tor1', TOR_ROUTER_ID, [
      {
        name: 'h1_4',
        peer: 'h1',
        family: 4,
        localAddress: LINK.t4,
        peerAddress: LINK.h4,
        localAs: TOR_AS,
        peerAs: HOST_AS,
        import: 'host-routes',
        export: 'default-only',
        originateDefault: true,
        addPathTx: false,
      },
    ]),
  );
}
