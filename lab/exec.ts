// Running the lab's external commands (ip, sysctl, vtysh, birdc) inside or outside a namespace.
// The lab is test-bed code: it drives Debian's own tools rather than the native addon, so that the
// fabric it builds does not depend on the code under test. Every failure becomes a LabError
// with code ERR_LAB_COMMAND naming the command line and its stderr.

import { execFile, execFileSync } from 'node:child_process';
import { LabError } from './errors.js';

/** Generous limit for one command; a hung `ip` or `vtysh` must not hang a test. */
const COMMAND_TIMEOUT_MS = 10_000;
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/** argv that runs `cmd args` inside network namespace `ns` (ip-netns(8) execs it: same pid). */
export function inNs(ns: string, cmd: string, args: readonly string[]): [string, string[]] {
  return ['ip', ['netns', 'exec', ns, cmd, ...args]];
}

function commandError(cmd: string, args: readonly string[], err: unknown, stderr: string): LabError {
  const line = [cmd, ...args].join(' ');
  const detail = stderr.trim() || (err instanceof Error ? err.message : String(err));
  return new LabError('ERR_LAB_COMMAND', `${line}: ${detail}`, { cause: err });
}

/** Run a command to completion, return its stdout; throws ERR_LAB_COMMAND on a non-zero exit. */
export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, {
      encoding: 'utf8',
      timeout: COMMAND_TIMEOUT_MS,
      maxBuffer: MAX_OUTPUT_BYTES,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const stderr = (err as { stderr?: string | Buffer }).stderr;
    throw commandError(cmd, args, err, stderr === undefined ? '' : String(stderr));
  }
}

/** Like run(), but returns false instead of throwing (for best-effort cleanup steps). */
export function tryRun(cmd: string, args: readonly string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** The asynchronous form of run(), for polling loops that must not block the event loop. */
export function runAsync(
  cmd: string,
  args: readonly string[],
  timeoutMs = COMMAND_TIMEOUT_MS,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES },
      (err, stdout, stderr) => {
        if (err) reject(commandError(cmd, args, err, stderr));
        else resolve(stdout);
      },
    );
  });
}

/** Run `cmd args` in namespace `ns` (synchronously). */
export function runIn(ns: string, cmd: string, args: readonly string[]): string {
  const [c, a] = inNs(ns, cmd, args);
  return run(c, a);
}

/** Run `cmd args` in namespace `ns` (asynchronously; `timeoutMs` for a command longer than most). */
export function runInAsync(
  ns: string,
  cmd: string,
  args: readonly string[],
  timeoutMs?: number,
): Promise<string> {
  const [c, a] = inNs(ns, cmd, args);
  return runAsync(c, a, timeoutMs);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Blocks the thread for `ms` (only for the synchronous teardown path of signal and exit handlers). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Poll `probe` every `intervalMs` until it returns a value other than undefined; throws
 * ERR_LAB_TIMEOUT (with the last observation) after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'not yet';
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() >= deadline) {
      throw new LabError('ERR_LAB_TIMEOUT', `${what}: not reached in ${timeoutMs} ms (last: ${last})`);
    }
    await sleep(intervalMs);
  }
}
