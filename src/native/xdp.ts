// XDP on an interface: attach in native (driver) or generic (skb) mode, replace only the expected
// program (XDP_FLAGS_REPLACE), detach, query what is attached; interface name <-> index.
import { AnycastdError } from '../errors.js';
import { native } from './addon.js';
import type { XdpMode } from './bpf.js';
import { callNative } from './errors.js';

/** linux/if_link.h XDP_FLAGS_*. */
const XDP_FLAGS_UPDATE_IF_NOEXIST = 1 << 0;
const XDP_FLAGS_SKB_MODE = 1 << 1;
const XDP_FLAGS_DRV_MODE = 1 << 2;
const MODE_FLAGS: Readonly<Record<XdpMode, number>> = {
  native: XDP_FLAGS_DRV_MODE,
  generic: XDP_FLAGS_SKB_MODE,
};
/** linux/if_link.h XDP_ATTACHED_* as reported by bpf_xdp_query. */
const ATTACHED_MODES = ['none', 'native', 'generic', 'offload', 'multi'] as const;
export type XdpAttachedMode = (typeof ATTACHED_MODES)[number];
const NO_FD = -1;

export interface XdpAttachOptions {
  /** Default 'native'. */
  mode?: XdpMode;
  /** Replace only if this program fd is the one attached (XDP_FLAGS_REPLACE); else fails with EEXIST. */
  replaceFd?: number;
  /** Fail with EBUSY instead of replacing whatever is attached (XDP_FLAGS_UPDATE_IF_NOEXIST). */
  ifNotExists?: boolean;
}

export interface XdpDetachOptions {
  /** Default: the mode the attached program runs in (nothing attached: nothing to do). */
  mode?: XdpMode;
  /** Detach only if this program fd is the one attached (XDP_FLAGS_REPLACE). */
  expectedFd?: number;
}

/** What is attached: `progId` 0 and mode 'none' when nothing; per-mode ids when several ('multi'). */
export interface XdpQueryResult {
  progId: number;
  mode: XdpAttachedMode;
  nativeProgId: number;
  genericProgId: number;
  offloadProgId: number;
}

/** The ifindex of interface `name` in the current network namespace; SystemError 'ENODEV' if none. */
export function ifIndex(name: string): number {
  return callNative(
    () => `look up interface ${name}`,
    () => native().ifNameToIndex(name),
  );
}

/** The name of interface `ifindex`, or null when there is none. */
export function ifName(ifindex: number): string | null {
  return native().ifIndexToName(ifindex);
}

function describe(ifindex: number): string {
  return `ifindex ${ifindex} (${ifName(ifindex) ?? 'no such interface'})`;
}

function checkFd(fd: number, what: string): void {
  if (!Number.isInteger(fd) || fd < 0)
    throw new AnycastdError('ERR_INVALID_ARGUMENT', `${what} is not an fd: ${fd}`);
}

/** Attaches program `progFd` to `ifindex`. */
export function attachXdp(ifindex: number, progFd: number, opts: XdpAttachOptions = {}): void {
  checkFd(progFd, 'program');
  if (opts.replaceFd !== undefined) checkFd(opts.replaceFd, 'replaceFd');
  const mode = opts.mode ?? 'native';
  const flags = MODE_FLAGS[mode] | (opts.ifNotExists ? XDP_FLAGS_UPDATE_IF_NOEXIST : 0);
  callNative(
    () =>
      `attach xdp program fd ${progFd} to ${describe(ifindex)} in ${mode} mode` +
      (opts.replaceFd !== undefined ? ` replacing program fd ${opts.replaceFd}` : ''),
    () => native().xdpAttach(ifindex, progFd, flags, opts.replaceFd ?? NO_FD),
  );
}

/** Detaches the XDP program of `ifindex`. */
export function detachXdp(ifindex: number, opts: XdpDetachOptions = {}): void {
  if (opts.expectedFd !== undefined) checkFd(opts.expectedFd, 'expectedFd');
  let mode = opts.mode;
  if (mode === undefined) {
    const attached = queryXdp(ifindex).mode;
    if (attached === 'none') return;
    if (attached !== 'native' && attached !== 'generic') {
      throw new AnycastdError(
        'ERR_INVALID_ARGUMENT',
        `${describe(ifindex)} has xdp in ${attached} mode; say which`,
      );
    }
    mode = attached;
  }
  const flags = MODE_FLAGS[mode];
  callNative(
    () => `detach xdp (${mode} mode) from ${describe(ifindex)}`,
    () => native().xdpAttach(ifindex, NO_FD, flags, opts.expectedFd ?? NO_FD),
  );
}

/**
 * Attaches `progFd` to `ifindex`, replacing atomically whatever program is attached in `mode`
 * (XDP_FLAGS_REPLACE with that program as the expected one: a program swapped in meanwhile by someone
 * else makes this fail with EEXIST instead of being overwritten). Nothing attached: a plain attach.
 */
export function replaceXdp(ifindex: number, progFd: number, mode: XdpMode = 'native'): void {
  const q = queryXdp(ifindex);
  const current = mode === 'native' ? q.nativeProgId : q.genericProgId;
  if (current === 0) {
    attachXdp(ifindex, progFd, { mode });
    return;
  }
  let currentFd: number;
  try {
    currentFd = callNative(
      () => `open program id ${current} attached to ${describe(ifindex)}`,
      () => native().progFdById(current),
    );
  } catch (err) {
    // Opening a program by id needs CAP_SYS_ADMIN, which the unit does not grant (CAP_BPF and
    // CAP_NET_ADMIN only). A plain attach over it is still one atomic swap in the kernel; only the
    // guard against a program swapped in meanwhile is lost.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') throw err;
    attachXdp(ifindex, progFd, { mode });
    return;
  }
  try {
    attachXdp(ifindex, progFd, { mode, replaceFd: currentFd });
  } finally {
    native().closeFd(currentFd);
  }
}

/** What XDP program is attached to `ifindex` and in which mode. */
export function queryXdp(ifindex: number): XdpQueryResult {
  const q = callNative(
    () => `query xdp on ${describe(ifindex)}`,
    () => native().xdpQuery(ifindex),
  );
  return {
    progId: q.progId,
    mode: ATTACHED_MODES[q.attachMode] ?? 'multi',
    nativeProgId: q.drvProgId,
    genericProgId: q.skbProgId,
    offloadProgId: q.hwProgId,
  };
}
