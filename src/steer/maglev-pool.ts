// Maglev tables built on a worker thread, so a ring change costs the agent's event loop nothing but the
// write (~0.1–0.5 ms: members → slots, the map update) while the build (~1–5 ms per 65,537 entries,
// maglev.ts) runs beside it; a failover of a host in hundreds of services queues hundreds of builds, and
// the loop keeps serving BGP, BFD and the control API meanwhile. One thread, started by start() or the
// first build and unref'd (it never keeps the process alive); requests are answered in order. Until it
// says it is up, and for good should it fail to start or die, builds are made on the loop (the same
// table, only not off the loop; `fellBack` says why).

import { Worker } from 'node:worker_threads';
import { AnycastdError } from '../errors.js';
import { buildMaglev, type MaglevMember, type MaglevTable } from './maglev.js';

export interface BuildRequest {
  id: number;
  members: MaglevMember[];
  size: number;
}

/** The thread's first message: it is up. */
export const READY = 'ready';

export type BuildReply =
  | { id: number; ids: string[]; table: Uint32Array }
  | { id: number; error: { code: string; message: string } };

interface Waiting {
  req: BuildRequest;
  resolve: (t: MaglevTable) => void;
  reject: (err: Error) => void;
}

/** Builds Maglev tables off the event loop. */
export interface TableBuilder {
  build(members: readonly MaglevMember[], size: number): Promise<MaglevTable>;
}

export class MaglevThread implements TableBuilder {
  #worker: Worker | null = null;
  /** The thread said it is up (its first message). */
  #ready = false;
  #next = 0;
  readonly #waiting = new Map<number, Waiting>();
  /** Why builds are made on the loop now (the thread failed), or null. */
  fellBack: string | null = null;

  /** Whether builds go to the thread now (it said it is up). */
  get up(): boolean {
    return this.#ready && this.#worker !== null;
  }

  /** Starts the thread now (it takes ~50 ms, seconds under tsx); builds until it is up are made on the loop. */
  start(): void {
    if (this.fellBack === null) this.#started();
  }

  build(members: readonly MaglevMember[], size: number): Promise<MaglevTable> {
    const worker = this.fellBack === null ? this.#started() : null;
    if (!worker || !this.#ready) {
      try {
        return Promise.resolve(buildMaglev(members, size));
      } catch (err) {
        return Promise.reject(err as Error);
      }
    }
    const id = this.#next++;
    const req: BuildRequest = {
      id,
      members: members.map((m) => ({ id: m.id, weight: m.weight ?? 1 })),
      size,
    };
    return new Promise<MaglevTable>((resolve, reject) => {
      this.#waiting.set(id, { req, resolve, reject });
      worker.postMessage(req);
    });
  }

  /** Ends the thread; builds asked for afterwards are made on the loop. */
  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = null;
    this.fellBack ??= 'closed';
    if (w) await w.terminate();
  }

  #started(): Worker | null {
    if (this.#worker) return this.#worker;
    try {
      const w = startThread();
      w.unref();
      w.on('message', (reply: BuildReply | typeof READY) => this.#answer(reply));
      w.on('error', (err) => this.#fail(`maglev thread failed: ${err.message}`));
      w.on('exit', (code) => this.#fail(`maglev thread exited (${code})`));
      this.#worker = w;
      return w;
    } catch (err) {
      this.fellBack = `maglev thread did not start: ${(err as Error).message}`;
      return null;
    }
  }

  #answer(reply: BuildReply | typeof READY): void {
    if (reply === READY) {
      this.#ready = true;
      return;
    }
    const w = this.#waiting.get(reply.id);
    if (!w) return;
    this.#waiting.delete(reply.id);
    if ('error' in reply) w.reject(new AnycastdError(reply.error.code, reply.error.message));
    else w.resolve({ ids: reply.ids, table: reply.table });
  }

  /** The thread is gone: what it still owed is built on the loop, and so is everything after. */
  #fail(why: string): void {
    this.fellBack ??= why;
    this.#worker = null;
    this.#ready = false;
    const owed = [...this.#waiting.values()];
    this.#waiting.clear();
    for (const w of owed) {
      try {
        w.resolve(buildMaglev(w.req.members, w.req.size));
      } catch (err) {
        w.reject(err as Error);
      }
    }
  }
}

/**
 * The worker: the compiled maglev-thread.js beside this file, or under tsx (sources run as .ts, tests
 * and benches) the .ts one loaded through tsx's loader, which a worker does not inherit.
 */
function startThread(): Worker {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(ts ? './maglev-thread.ts' : './maglev-thread.js', import.meta.url);
  if (!ts) return new Worker(entry);
  const code = `const { register } = await import('tsx/esm/api'); register(); await import(${JSON.stringify(entry.href)});`;
  return new Worker(code, { eval: true });
}
