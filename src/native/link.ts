// BPF links (a program attached where its section names, e.g. a tracepoint): the link lives while an
// fd or a pin of it does, so a pinned link outlives the process that made it. And the kernel's per-program
// run-time statistics (BPF_ENABLE_STATS), on while a handle is open.
import { AnycastdError } from '../errors.js';
import { native, type RawLinkInfo } from './addon.js';
import { callNative } from './errors.js';

export type LinkInfo = RawLinkInfo;

export class BpfLink {
  readonly name: string;
  #fd: number;

  /** Wraps an fd the link owns (closed by close()). */
  constructor(name: string, fd: number) {
    this.name = name;
    this.#fd = fd;
  }

  /** Opens a link pinned on bpffs (its own fd; the pin stays). */
  static openPinned(path: string): BpfLink {
    const fd = callNative(
      () => `open pinned link ${path}`,
      () => native().objGet(path),
    );
    return new BpfLink(path, fd);
  }

  get fd(): number {
    if (this.#fd < 0) throw new AnycastdError('ERR_BPF_OBJECT', `link ${this.name} is closed`);
    return this.#fd;
  }

  /** The link's id, the id of the program it runs, its kind (enum bpf_link_type). */
  info(): LinkInfo {
    return callNative(
      () => `read info of link ${this.name}`,
      () => native().linkInfo(this.fd),
    );
  }

  /** Pins the link at `path` on bpffs: it then lives until the pin is removed (and no fd is open). */
  pin(path: string): void {
    callNative(
      () => `pin link ${this.name} at ${path}`,
      () => native().objPin(this.fd, path),
    );
  }

  /** Closes this fd: an unpinned link with no other fd detaches. Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    native().closeFd(this.#fd);
    this.#fd = -1;
  }
}

/** Turns on the kernel's run-time statistics of every BPF program until the returned function is called. */
export function enableRunTimeStats(): () => void {
  const fd = callNative(
    () => 'enable BPF run-time statistics',
    () => native().enableRunTimeStats(),
  );
  let open = true;
  return () => {
    if (open) native().closeFd(fd);
    open = false;
  };
}
