// Driving the holder (lab/holder.ts) from the lab: start it in the client namespace with N
// long-lived connections to the VIP, then ask it to check them or to open new connections at a
// steady rate, one JSON answer per command.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { VIP4 } from './addressing.js';
import { nodeArgs } from './apps.js';
import { LabError } from './errors.js';
import type { CheckReport, OpenedReport, SteadyReport } from './holder.js';
import type { LabProcess } from './processes.js';
import type { Lab } from './topology.js';

const HOLDER_SCRIPT = fileURLToPath(new URL('./holder.ts', import.meta.url));
const ANSWER_TIMEOUT_MS = 60_000;

export interface HolderOptions {
  count: number;
  target?: string;
  concurrency?: number;
}

export class Holder {
  readonly opened: OpenedReport;
  readonly #lab: Lab;
  readonly #proc: LabProcess;
  readonly #lines: string[];
  #waiters: ((line: string) => void)[];

  private constructor(
    lab: Lab,
    proc: LabProcess,
    lines: string[],
    waiters: ((l: string) => void)[],
    opened: OpenedReport,
  ) {
    this.#lab = lab;
    this.#proc = proc;
    this.#lines = lines;
    this.#waiters = waiters;
    this.opened = opened;
  }

  /** Start the holder; resolves once every connection has its greeting (or failed). */
  static async start(lab: Lab, opts: HolderOptions): Promise<Holder> {
    const args = nodeArgs(HOLDER_SCRIPT, [
      '--target',
      opts.target ?? VIP4,
      '--count',
      String(opts.count),
      '--concurrency',
      String(opts.concurrency ?? 50),
    ]);
    const log = join(lab.dir, `holder-${Date.now()}.err`);
    const proc = lab.procs.start('holder', lab.ns('client'), process.execPath, args, log, {
      pipeStdout: true,
      pipeStdin: true,
    });
    const lines: string[] = [];
    const waiters: ((l: string) => void)[] = [];
    createInterface({ input: proc.child.stdout! }).on('line', (l) => {
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    });
    const first = await next(proc, lines, waiters, log);
    return new Holder(lab, proc, lines, waiters, JSON.parse(first) as OpenedReport);
  }

  async #ask<T>(cmd: string): Promise<T> {
    this.#proc.child.stdin!.write(`${cmd}\n`);
    return JSON.parse(await next(this.#proc, this.#lines, this.#waiters, this.#proc.logFile)) as T;
  }

  /** Ping every held connection: alive and broken, per instance that accepted it. */
  check(): Promise<CheckReport> {
    return this.#ask<CheckReport>('check');
  }

  /** `n` new connections, one started every `everyMs`. */
  steady(everyMs: number, n: number): Promise<SteadyReport> {
    return this.#ask<SteadyReport>(`steady ${everyMs} ${n}`);
  }

  async stop(): Promise<void> {
    this.#proc.child.stdin!.write('quit\n');
    await this.#lab.procs.stop(this.#proc);
  }
}

function next(
  proc: LabProcess,
  lines: string[],
  waiters: ((l: string) => void)[],
  log: string,
): Promise<string> {
  const ready = lines.shift();
  if (ready !== undefined) return Promise.resolve(ready);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(new LabError('ERR_LAB_TIMEOUT', `holder: no answer in ${ANSWER_TIMEOUT_MS} ms (see ${log})`)),
      ANSWER_TIMEOUT_MS,
    );
    proc.exited.then((code) =>
      reject(new LabError('ERR_LAB_COMMAND', `holder exited (${code}) without answering (see ${log})`)),
    );
    waiters.push((l) => {
      clearTimeout(timer);
      resolve(l);
    });
  });
}
