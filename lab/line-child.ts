// A lab program run in a namespace and driven over stdin, one JSON line out per command (the holder,
// the traffic generator): started by pid in the lab's registry, stderr to a log file in the run directory.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { nodeArgs } from './apps.js';
import { LabError } from './errors.js';
import type { LabProcess } from './processes.js';
import type { Lab } from './topology.js';

const ANSWER_TIMEOUT_MS = 60_000;

export class LineChild {
  readonly #lab: Lab;
  readonly #proc: LabProcess;
  readonly #lines: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  readonly #label: string;

  /** Start `script args` (tsx) in the client namespace. */
  constructor(lab: Lab, label: string, script: string, args: readonly string[]) {
    this.#lab = lab;
    this.#label = label;
    const log = join(lab.dir, `${label}-${Date.now()}.err`);
    this.#proc = lab.procs.start(label, lab.ns('client'), process.execPath, nodeArgs(script, args), log, {
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

  /** The next line the program writes, parsed. */
  next<T>(): Promise<T> {
    const ready = this.#lines.shift();
    if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as T);
    const log = this.#proc.logFile;
    const label = this.#label;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new LabError('ERR_LAB_TIMEOUT', `${label}: no answer in ${ANSWER_TIMEOUT_MS} ms (see ${log})`),
          ),
        ANSWER_TIMEOUT_MS,
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
    await this.#lab.procs.stop(this.#proc);
  }
}
