// The two-host veth lab of the steering tests: a ToR namespace with the client address on lo, hosts A
// and B each behind a /31 (+ IPv6 /127) with its host address and the VIP on lo and the ToR as default
// gateway; the ToR routes the VIP to A and carries XDP_PASS on its ends so A's XDP_TX frames arrive.
//
//   client 203.0.113.7 (lo of tor)
//   tor ── tA 198.51.100.128/31 ── up0 198.51.100.129/31 [A: lo 198.51.100.1, VIP 192.0.2.10]
//       └─ tB 198.51.100.130/31 ── up0 198.51.100.131/31 [B: lo 198.51.100.2, VIP 192.0.2.10]
import { join } from 'node:path';
import { addVethPair, createNetns, type Netns, removeNetnsByPrefix } from '../../lab/netns.js';
import { attachXdp, BpfObject, ifIndex, projectRoot, withNetns } from '../../src/native/index.js';

export const VIP = '192.0.2.10';
export const CLIENT = '203.0.113.7';
export const HOST_A = '198.51.100.1';
export const HOST_B = '198.51.100.2';
export const VIP6 = '2001:db8::10';
export const CLIENT6 = '2001:db8:200::7';
export const HOST6_A = '2001:db8:100::1';
export const HOST6_B = '2001:db8:100::2';

export interface VethLab {
  tor: Netns;
  nsA: Netns;
  nsB: Netns;
  pass: BpfObject; // the ToR ends' XDP_PASS program (close it last)
}

function setupHost(ns: Netns, host: [string, string], up: [string, string], gw: [string, string]): void {
  ns.ip(['addr', 'add', `${up[0]}/31`, 'dev', 'up0']);
  ns.ip(['addr', 'add', `${up[1]}/127`, 'dev', 'up0', 'nodad']);
  ns.ip(['addr', 'add', `${host[0]}/32`, 'dev', 'lo']);
  ns.ip(['addr', 'add', `${host[1]}/128`, 'dev', 'lo', 'nodad']);
  ns.ip(['addr', 'add', `${VIP}/32`, 'dev', 'lo']);
  ns.ip(['addr', 'add', `${VIP6}/128`, 'dev', 'lo', 'nodad']);
  ns.ip(['route', 'add', 'default', 'via', gw[0], 'src', host[0]]);
  ns.ip(['-6', 'route', 'add', 'default', 'via', gw[1], 'src', host[1]]);
  ns.exec(['sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.up0.rp_filter=0']);
}

/** Builds the lab under `prefix` (anything left under it first removed). */
export function buildVethLab(prefix: string): VethLab {
  removeNetnsByPrefix(prefix);
  const tor = createNetns(prefix, 'tor');
  const nsA = createNetns(prefix, 'a');
  const nsB = createNetns(prefix, 'b');
  addVethPair(tor, 'tA', 'up0', nsA);
  addVethPair(tor, 'tB', 'up0', nsB);
  tor.ip(['addr', 'add', '198.51.100.128/31', 'dev', 'tA']);
  tor.ip(['addr', 'add', '198.51.100.130/31', 'dev', 'tB']);
  tor.ip(['addr', 'add', `${CLIENT}/32`, 'dev', 'lo']);
  tor.ip(['route', 'add', `${HOST_A}/32`, 'via', '198.51.100.129']);
  tor.ip(['route', 'add', `${HOST_B}/32`, 'via', '198.51.100.131']);
  tor.ip(['route', 'add', `${VIP}/32`, 'via', '198.51.100.129']);
  tor.ip(['addr', 'add', '2001:db8:ff::/127', 'dev', 'tA', 'nodad']);
  tor.ip(['addr', 'add', '2001:db8:ff::2/127', 'dev', 'tB', 'nodad']);
  tor.ip(['addr', 'add', `${CLIENT6}/128`, 'dev', 'lo', 'nodad']);
  tor.ip(['-6', 'route', 'add', `${HOST6_A}/128`, 'via', '2001:db8:ff::1']);
  tor.ip(['-6', 'route', 'add', `${HOST6_B}/128`, 'via', '2001:db8:ff::3']);
  tor.ip(['-6', 'route', 'add', `${VIP6}/128`, 'via', '2001:db8:ff::1']);
  tor.exec(['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
  tor.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0']);
  tor.exec(['sysctl', '-qw', 'net.ipv4.conf.tA.rp_filter=0', 'net.ipv4.conf.tB.rp_filter=0']); // B's answers come in on tB
  // A veth hands locally sent packets over with the checksum still to do (CHECKSUM_PARTIAL); XDP_TX
  // drops that note, so B would see a bad UDP checksum. Real frames from a wire carry full checksums.
  tor.exec(['ethtool', '-K', 'tA', 'tx', 'off']);
  setupHost(
    nsA,
    [HOST_A, HOST6_A],
    ['198.51.100.129', '2001:db8:ff::1'],
    ['198.51.100.128', '2001:db8:ff::'],
  );
  setupHost(
    nsB,
    [HOST_B, HOST6_B],
    ['198.51.100.131', '2001:db8:ff::3'],
    ['198.51.100.130', '2001:db8:ff::2'],
  );

  const pass = BpfObject.open(join(projectRoot(), 'build/bpf/xdp_pass.bpf.o'));
  pass.load();
  const passFd = pass.program('xdp_pass').fd;
  withNetns(tor.name, () => {
    attachXdp(ifIndex('tA'), passFd, { mode: 'native' });
    attachXdp(ifIndex('tB'), passFd, { mode: 'native' });
  });
  return { tor, nsA, nsB, pass };
}
