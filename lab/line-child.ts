// A lab program run in a namespace (the client's, or any: ChildPlace) and driven over stdin, one JSON line out per command (the holder,
// the traffic generator): started by pid in the lab's registry, stderr to a log file in the run directory.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeArgs } from './apps.js';
import { LabError } from './errors.js';
import type { LabProcess, ProcessRegistry } from './processes.js';
import type { Lab } from './topology.js';

const ANSWER_TIMEOUT_MS = 60_000;

/** Where a child runs when it is not the lab's client: a registry, a directory for its log, a namespace. */
export interface ChildPlace {
  procs: ProcessRegistry;
  dir: string;
  ns: string;
}

export class LineChild {
  readonly #procs: ProcessRegistry;
  readonly #proc: LabProcess;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  readonly #label: string;
  readonly #timeoutMs: number;

  /** Start `script args` (tsx) in the lab's client namespace, or at `place`. */
  constructor(
    at: Lab | ChildPlace,
    label: string,
    script: string,
    args: readonly string[],
    timeoutMs = ANSWER_TIMEOUT_MS,
  ) {
    const place = 'prefix' in at ? { procs: at.procs, dir: at.dir, ns: at.ns('client') } : at;
    this.#procs = place.procs;
    this.#label = label;
    this.#timeoutMs = timeoutMs;
    const log = join(place.dir, `${label}-${Date.now()}.err`);
    this.#proc = place.procs.start(label, place.ns, process.execPath, nodeArgs(script, args), log, {
      pipeStdout: true,
      pipeStdin: true,
    });
    this.#proc.child.stdin!.on('error', () => {}); // written after it exited: its exit is what tells
    createInterface({ input: this.#proc.child.stdout! }).on('line', (l) => {
      const w = this.#waiters.shift();
      if (w) w(l);
      else this.#lines.push(l);
    });
  }

  /** The program's pid. */
  get pid(): number {
    return this.#proc.pid;
  }

  /** The next line the program writes, parsed. */
  next<T>(): Promise<T> {
    const ready = this.#lines.shift();
    if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as T);
    const log = this.#proc.logFile;
    const label = this.#label;
    const timeoutMs = this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new LabError('ERR_LAB_TIMEOUT', `${label}: no answer in ${timeoutMs} ms (see ${log})`)),
        timeoutMs,
      );
      this.#proc.exited.then((code) =>
        reject(new LabError('ERR_LAB_COMMAND', `${label} exited (${code}) without answering (see ${log})`)),
      );
      this.#waiters.push((l) => {
        clearTimeout(timer);
        resolve(JSON.parse(l) as T);
      });
    });
  }

  /** Send one command line; resolves with its answer. */
  ask<T>(cmd: string): Promise<T> {
    this.#proc.child.stdin!.write(`${cmd}\n`);
    return this.next<T>();
  }

  /** `quit`, then stop the process by pid. */
  async stop(): Promise<void> {
    this.#proc.child.stdin!.write('quit\n');
    await this.#procs.stop(this.#proc);
  }
}
