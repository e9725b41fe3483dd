// Child processes of the veth lab's tests (veth-lab.ts): a program run in a namespace with its stdin
// and the lines of its stdout, and its next line within a bound (a lost answer fails, never hangs).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface, type Interface } from 'node:readline';
import type { Netns } from '../../lab/netns.js';
import { within } from '../helpers/wait-for.js';

/** Bound on a lab process's answer; on its first line (a tsx start on a busy 2-core box takes seconds). */
export const LINE_TIMEOUT_MS = 3000;
export const START_TIMEOUT_MS = 20_000;

export interface LabProc {
  p: ChildProcess;
  lines: Interface;
}

/** Runs `argv` in `ns` (added to `procs`, for the caller to kill): its stdin and its stdout's lines. */
export function spawnIn(ns: Netns, argv: string[], procs: ChildProcess[]): LabProc {
  const p = spawn('ip', ['netns', 'exec', ns.name, ...argv], { stdio: ['pipe', 'pipe', 'inherit'] });
  procs.push(p);
  return { p, lines: createInterface({ input: p.stdout! }) };
}

/** A lab process's next line, within `ms`. */
export function nextLine(lines: Interface, ms = LINE_TIMEOUT_MS): Promise<string> {
  return within(
    once(lines, 'line').then(([l]) => String(l)),
    ms,
    'a line from a lab process',
  );
}
