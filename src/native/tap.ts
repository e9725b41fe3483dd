// A packet tap (native/src/tap.cc): an AF_PACKET socket on every interface of a network namespace
// with a classic BPF socket filter (linux/filter.h), read by draining without blocking. Packets start
// at their network header (cooked mode); the filter decides which ones are kept and how many bytes of
// each (its return value). Needs CAP_NET_RAW. The kernel runs the filter on every packet sent and
// received in the namespace (tens of ns each); only matches are copied. The receive buffer is small
// and a drain takes at most `max` packets: what a flood adds beyond that is dropped by the kernel.
import { native } from './addon.js';
import { callNative } from './errors.js';
import { withNetns } from './netns.js';

/** One classic BPF instruction (struct sock_filter). */
export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** sizeof(struct sock_filter), and the kernel's limit on a program's length (BPF_MAXINSNS). */
const INSN_BYTES = 8;
export const BPF_MAX_INSNS = 4096;
/** Receive buffer (the kernel doubles it): room for a few hundred cut packets between drains. */
const DEFAULT_RCVBUF_BYTES = 64 * 1024;

/** The program as the kernel takes it (struct sock_filter[], host byte order). */
export function encodeFilter(prog: readonly BpfInsn[]): Buffer {
  if (prog.length === 0 || prog.length > BPF_MAX_INSNS)
    throw new RangeError(`a classic BPF program has 1..${BPF_MAX_INSNS} instructions, not ${prog.length}`);
  const b = Buffer.alloc(prog.length * INSN_BYTES);
  prog.forEach((i, n) => {
    const off = n * INSN_BYTES;
    b.writeUInt16LE(i.code, off);
    b.writeUInt8(i.jt, off + 2);
    b.writeUInt8(i.jf, off + 3);
    b.writeUInt32LE(i.k >>> 0, off + 4);
  });
  return b;
}

export interface PacketTapOptions {
  filter: readonly BpfInsn[];
  /** Open it inside this network namespace (name under /run/netns or a path). */
  netns?: string;
  rcvbufBytes?: number;
}

export class PacketTap {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens the tap; throws a SystemError (EPERM without CAP_NET_RAW, EINVAL for a bad filter). */
  static open(opts: PacketTapOptions): PacketTap {
    const filter = encodeFilter(opts.filter);
    const open = (): number =>
      callNative(
        () => `open a packet tap${opts.netns ? ` in ${opts.netns}` : ''}`,
        () => native().tapOpen(filter, opts.rcvbufBytes ?? DEFAULT_RCVBUF_BYTES),
      );
    return new PacketTap(opts.netns ? withNetns(opts.netns, open) : open());
  }

  /** Replaces the filter (packets already queued stay). */
  setFilter(prog: readonly BpfInsn[]): void {
    const filter = encodeFilter(prog);
    callNative(
      () => 'replace a packet tap filter',
      () => native().tapSetFilter(this.#fd, filter),
    );
  }

  /** The packets queued now, at most `max`, each cut to what the filter kept (≤ 256 bytes). */
  drain(max: number): Buffer[] {
    if (this.#fd < 0) return [];
    const fd = this.#fd;
    return callNative(
      () => 'read a packet tap',
      () => native().tapDrain(fd, max),
    );
  }

  close(): void {
    if (this.#fd < 0) return;
    native().closeFd(this.#fd);
    this.#fd = -1;
  }
}
