// What the agent announces: a VIP or host address as a host prefix (/32 for IPv4, /128 for IPv6), and
// the attributes that worsen a route before its withdrawal per the service's on-down policy: a higher
// MULTI_EXIT_DISC (RFC 4271 §5.1.4), AS-path prepending, or the GRACEFUL_SHUTDOWN community
// (RFC 8326 §2, 65535:0), which receivers that honour it map to a LOCAL_PREF of 0.

import { isIPv4 } from 'node:net';
import type { ExportAttributes } from '../bgp/announcer.js';
import { Afi } from '../bgp/codec/constants.js';
import type { Prefix } from '../bgp/codec/prefix.js';
import type { OnDownConfig } from '../config/types.js';

const IPV4_HOST_LEN = 32;
const IPV6_HOST_LEN = 128;
/** RFC 8326: the well-known GRACEFUL_SHUTDOWN community, 65535:0. */
export const GRACEFUL_SHUTDOWN = 0xffff0000;

export function hostPrefix(address: string): Prefix {
  return isIPv4(address)
    ? { afi: Afi.IPV4, addr: address, len: IPV4_HOST_LEN }
    : { afi: Afi.IPV6, addr: address, len: IPV6_HOST_LEN };
}

/** The attributes of a worsened route, or null when the policy is a plain withdrawal. */
export function worseAttributes(onDown: OnDownConfig): ExportAttributes | null {
  switch (onDown.action) {
    case 'withdraw':
      return null;
    case 'med':
      return { med: onDown.med };
    case 'prepend':
      return { prepend: onDown.prepend };
    case 'graceful_shutdown':
      return { communities: [GRACEFUL_SHUTDOWN] };
  }
}
