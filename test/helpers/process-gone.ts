// Whether a process is gone: no such pid, or a zombie waiting to be reaped (it runs no more).
import { readFileSync } from 'node:fs';
import { waitFor } from './wait-for.js';

export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
  } catch {
    return true;
  }
}

/** True once `pid` is gone, false if it still runs after `ms`. */
export async function waitGone(pid: number, ms = 1000): Promise<boolean> {
  return waitFor(() => isGone(pid), { timeoutMs: ms }).then(
    () => true,
    () => false,
  );
}
