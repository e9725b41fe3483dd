// Where the steering program is attached, read from the kernel at scrape time (an XDP query per uplink
// over netlink): attached when the interface runs this program, in the mode the kernel reports. An
// uplink that is gone reports not attached.
import { ifIndex, queryXdp } from '../native/xdp.js';
import type { XdpAttachment } from './sources.js';

export function xdpAttachments(
  uplinks: readonly string[],
  progId: number,
  configuredMode: string,
): XdpAttachment[] {
  return uplinks.map((name) => {
    try {
      const q = queryXdp(ifIndex(name));
      const attached = q.progId === progId;
      return { interface: name, mode: attached ? q.mode : configuredMode, attached };
    } catch {
      return { interface: name, mode: configuredMode, attached: false };
    }
  });
}
