// The host's addresses as the listen plan (listen-plan.ts) reads them, from the kernel over
// rtnetlink in the speaker's namespace, and a change notification whenever a link or an address
// comes or goes (rtnetlink multicast groups; an overrun, where the kernel dropped events, counts as
// a change too, since the plan is always computed from a fresh dump).

import type { Rtnetlink } from '../native/rtnl.js';
import { watchRtnl } from '../native/rtnl-events.js';
import type { HostAddresses } from './listen-plan.js';

export interface AddressSource {
  /** The addresses and links now. */
  read(): HostAddresses;
  /** Call `changed` after any link or address change until the returned function is called. */
  watch(changed: () => void): () => void;
}

/** Reads and watches the kernel's addresses in `netns` (default: the process's own namespace). */
export function kernelAddressSource(
  rtnl: Pick<Rtnetlink, 'addresses' | 'links'>,
  netns?: string,
): AddressSource {
  return {
    read(): HostAddresses {
      const links = rtnl.links();
      return {
        addresses: rtnl.addresses(),
        ifindexOf: (name) => links.find((l) => l.name === name)?.ifindex,
      };
    },
    watch(changed: () => void): () => void {
      const w = watchRtnl(['link', 'ipv4-addr', 'ipv6-addr'], () => changed(), { netns });
      return () => w.close();
    },
  };
}
