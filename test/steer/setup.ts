// The standard steering test bed: this host A, a remote host B, services with a local, a remote, an
// empty and an IPv6-only owner, and VIPs of every kind (port, any port, IPv4, IPv6). Maps are not
// pinned unless a test asks (then under a unique bpffs directory).
import { Dataplane, type DataplaneOptions } from '../../src/steer/dataplane.js';
import type { VipSpec } from '../../src/steer/vips.js';

export const HOST4 = '198.51.100.1';
export const HOST6 = '2001:db8:100::1';
export const REMOTE4 = '198.51.100.2';
export const REMOTE6 = '2001:db8:100::2';
export const CLIENT4 = '203.0.113.7';
export const CLIENT6 = '2001:db8:200::7';
export const ROUTER4 = '203.0.113.254';
export const ROUTER6 = '2001:db8:200::fe';
export const MTU = 1500;

export const SVC_LOCAL = 0;
export const SVC_REMOTE = 1;
export const SVC_EMPTY = 2;
export const SVC_V6ONLY = 3;

export const VIPS = {
  local4: { vipId: 0, serviceId: SVC_LOCAL, addr: '192.0.2.10', proto: 'tcp', port: 80 },
  remote4: { vipId: 1, serviceId: SVC_REMOTE, addr: '192.0.2.11', proto: 'tcp', port: 80 },
  remoteUdp4: { vipId: 2, serviceId: SVC_REMOTE, addr: '192.0.2.11', proto: 'udp', port: 0 },
  empty4: { vipId: 3, serviceId: SVC_EMPTY, addr: '192.0.2.12', proto: 'tcp', port: 443 },
  local6: { vipId: 4, serviceId: SVC_LOCAL, addr: '2001:db8::10', proto: 'tcp', port: 80 },
  remote6: { vipId: 5, serviceId: SVC_REMOTE, addr: '2001:db8::11', proto: 'tcp', port: 80 },
  remoteUdp6: { vipId: 6, serviceId: SVC_REMOTE, addr: '2001:db8::11', proto: 'udp', port: 0 },
  v6only4: { vipId: 7, serviceId: SVC_V6ONLY, addr: '192.0.2.13', proto: 'udp', port: 53 },
  empty6: { vipId: 8, serviceId: SVC_EMPTY, addr: '2001:db8::12', proto: 'tcp', port: 443 },
} as const satisfies Record<string, VipSpec>;

export const LOCAL = { id: 'a/web', host4: HOST4, host6: HOST6, local: true };
export const REMOTE = { id: 'b/web', host4: REMOTE4, host6: REMOTE6, local: false };
export const V6ONLY = { id: 'c/web', host6: '2001:db8:100::3', local: false };

/** A loaded program with the standard state. */
export function openTestbed(opts: DataplaneOptions = {}): Dataplane {
  const dp = Dataplane.open({ pin: false, host4: HOST4, host6: HOST6, mtu: MTU, ...opts });
  try {
    dp.setServiceMembers(SVC_LOCAL, [LOCAL]);
    dp.setServiceMembers(SVC_REMOTE, [REMOTE]);
    dp.setServiceMembers(SVC_EMPTY, []);
    dp.setServiceMembers(SVC_V6ONLY, [V6ONLY]);
    dp.setVips(Object.values(VIPS));
    return dp;
  } catch (err) {
    dp.close();
    throw err;
  }
}
