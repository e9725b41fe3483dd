// The flow reaper in user space, the fallback where the kernel refuses the reaper program
// (flow-reaper-kernel.ts; flow-reaper.ts chooses): every TCP socket the kernel destroys on a VIP
// (sock_diag destroy broadcasts, the same watch as the health checks' socket-gone events) takes its flow
// entry with it — only an entry that names a local instance: one that names another host was written
// since, by the second chance. It reads and decodes the destroy broadcast of every TCP socket in the
// namespace: ~40 µs of agent CPU per closed connection (src/steer/README.md).

import { type InetSocket, type NetlinkWatch, watchSocketDestroy } from '../native/index.js';
import { unmappedV4 } from '../netlink/ip.js';
import { addr16 } from './addr.js';
import type { Dataplane } from './dataplane.js';
import type { FlowReaper, ReaperCounts } from './flow-reaper.js';
import {
  encodeFlowKey,
  FAMILY_V4,
  FAMILY_V6,
  INSTANCE_F_LOCAL,
  VIP_F_FRAG,
  type VipEntry,
} from './layout.js';
import { IPPROTO_TCP } from './proto.js';
import { ANY_PORT } from './vips.js';

export class ListenerReaper implements FlowReaper {
  readonly kind = 'listener';
  readonly counts: ReaperCounts = { seen: 0, forgotten: 0 };
  readonly #dp: Dataplane;
  readonly #watch: NetlinkWatch;
  #vips: readonly VipEntry[] | undefined; // the VIP table the set below was made from
  #tcpVips = new Set<string>(); // `<addr16 hex>/<port>` of every TCP VIP (port, or ANY_PORT)
  #ports = new Set<number>(); // their ports: a socket on any other is rejected before any parsing

  private constructor(dp: Dataplane, onOverrun?: (err: Error) => void) {
    this.#dp = dp;
    this.#watch = watchSocketDestroy(
      { families: [4, 6], protocols: ['tcp'], ...(onOverrun ? { onOverrun } : {}) },
      (s) => this.#destroyed(s),
    );
  }

  /** Watches this network namespace's TCP socket destructions for `dp`'s VIPs. */
  static start(dp: Dataplane, opts: { onOverrun?: (err: Error) => void } = {}): ListenerReaper {
    return new ListenerReaper(dp, opts.onOverrun);
  }

  close(): void {
    this.#watch.close();
  }

  /** The TCP VIPs of the program's VIP table (re-read when it was replaced). */
  #refresh(): void {
    const vips = this.#dp.state.vips;
    if (vips === this.#vips) return;
    const tcp = vips.filter((v) => v.key.proto === IPPROTO_TCP && !(v.flags & VIP_F_FRAG)); // not fragment entries
    this.#tcpVips = new Set(tcp.map((v) => `${v.key.addr.toString('hex')}/${v.key.port}`));
    this.#ports = new Set(tcp.map((v) => v.key.port));
    this.#vips = vips;
  }

  #destroyed(s: InetSocket): void {
    if (s.remotePort === 0) return; // a listener
    this.#refresh();
    if (!this.#ports.has(s.localPort) && !this.#ports.has(ANY_PORT)) return;
    const localAddress = unmappedV4(s.localAddress);
    const family = localAddress.includes(':') ? FAMILY_V6 : FAMILY_V4;
    const local = addr16(localAddress);
    const hex = local.toString('hex');
    if (!this.#tcpVips.has(`${hex}/${s.localPort}`) && !this.#tcpVips.has(`${hex}/${ANY_PORT}`)) return;
    this.counts.seen++;
    const key = encodeFlowKey({
      src: addr16(unmappedV4(s.remoteAddress)),
      dst: local,
      sport: s.remotePort,
      dport: s.localPort,
      proto: IPPROTO_TCP,
      family,
    });
    const slot = this.#dp.map('flows').lookup(key)?.readUInt32LE(0);
    if (slot === undefined) return;
    const inst = this.#dp.state.instances.get(slot);
    if (!inst || !(inst.flags & INSTANCE_F_LOCAL)) return;
    if (this.#dp.forgetFlow(key)) this.counts.forgotten++;
  }
}
