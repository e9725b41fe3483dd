// The flow reaper in the kernel: bpf/reaper.bpf.c on the tracepoint of TCP state changes
// (tp_btf/inet_sock_set_state) removes a closed connection's flow entry and cached copies. It shares the
// steering program's maps (their fds, before load) and filters on this process's network namespace
// (rodata `netns_ino`). Its link is pinned beside the maps (`flow_reaper`, pin-plan.ts LINK_PINS), so it
// goes on reaping while the agent restarts; each start replaces it (pinned beside, renamed over) with a
// program bound to the new steering program's flow_cache. Per closed connection the agent does nothing.
import { renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BpfLink,
  type BpfMap,
  BpfObject,
  type BpfProgram,
  possibleCpus,
  projectRoot,
} from '../native/index.js';
import { u32key } from './adopt.js';
import { type Dataplane, NEXT_PIN_SUFFIX } from './dataplane.js';
import type { FlowReaper, ReaperCounts } from './flow-reaper.js';
import { REAPER_LINK_PIN } from './pin-plan.js';

export const REAPER_PROGRAM = 'flow_reaper';
/** The steering program's maps the reaper uses (reused by fd: one flow table, one cache). */
const SHARED_MAPS = ['flows', 'instances', 'flow_cache'] as const;
/** reaper_stats value (bpf/reaper.bpf.c): u64 closed, forgotten, failed. */
const STATS = { closed: 0, forgotten: 8, failed: 16, size: 24 } as const;
/** The calling thread's network namespace (its nsfs inode is what the kernel calls ns.inum). */
const OWN_NETNS = '/proc/thread-self/ns/net';

export interface KernelReaperOptions {
  objectPath?: string; // default <project>/build/bpf/reaper.bpf.o
  pinDir?: string; // pin the link here (else it lives with this process)
}

export class KernelReaper implements FlowReaper {
  readonly kind = 'kernel';
  readonly program: BpfProgram;
  readonly #obj: BpfObject;
  readonly #link: BpfLink;
  readonly #stats: BpfMap;

  private constructor(obj: BpfObject, link: BpfLink) {
    this.#obj = obj;
    this.#link = link;
    this.program = obj.program(REAPER_PROGRAM);
    this.#stats = obj.map('reaper_stats');
  }

  /** Loads the reaper on `dp`'s maps and attaches it (pinned in pinDir, replacing an earlier one). */
  static start(dp: Dataplane, opts: KernelReaperOptions = {}): KernelReaper {
    const obj = BpfObject.open(opts.objectPath ?? join(projectRoot(), 'build/bpf/reaper.bpf.o'));
    let link: BpfLink | undefined;
    try {
      obj.setRodata('netns_ino', u32(statSync(OWN_NETNS).ino));
      obj.setRodata('nr_cpus', u32(possibleCpus()));
      for (const name of SHARED_MAPS) obj.reuseMapOf(name, dp.sharedMap(name));
      obj.load();
      link = obj.attach(REAPER_PROGRAM);
      if (opts.pinDir !== undefined) {
        const path = join(opts.pinDir, REAPER_LINK_PIN);
        rmSync(path + NEXT_PIN_SUFFIX, { force: true }); // left by a start that did not finish
        link.pin(path + NEXT_PIN_SUFFIX);
        renameSync(path + NEXT_PIN_SUFFIX, path); // the earlier link, unpinned, detaches
      }
      return new KernelReaper(obj, link);
    } catch (err) {
      link?.close();
      obj.close();
      throw err;
    }
  }

  /** Summed over CPUs: connections of this namespace that ended, and entries removed (this program's). */
  get counts(): ReaperCounts & { failed: number } {
    const sum = { seen: 0, forgotten: 0, failed: 0 };
    for (const v of this.#stats.lookupPerCpu(u32key(0))) {
      sum.seen += Number(v.readBigUInt64LE(STATS.closed));
      sum.forgotten += Number(v.readBigUInt64LE(STATS.forgotten));
      sum.failed += Number(v.readBigUInt64LE(STATS.failed));
    }
    return sum;
  }

  /** The link's id and the program it runs (diagnostics, tests). */
  linkInfo(): { id: number; progId: number } {
    const { id, progId } = this.#link.info();
    return { id, progId };
  }

  close(): void {
    this.#link.close();
    this.#obj.close();
  }
}

/** Removes a pinned kernel reaper (reaping off, or the listener instead): its link detaches. */
export function removeReaperPin(pinDir: string): void {
  rmSync(join(pinDir, REAPER_LINK_PIN), { force: true });
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
}
