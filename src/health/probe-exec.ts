// Exec check: runs a command (no shell) in its own process group; healthy when it exits with the expected
// code within the timeout. The command runs as an unprivileged user (uid/gid given: the agent's
// capabilities are gone at the uid change, its supplementary groups cleared) with a clean environment —
// EXEC_PATH, LANG=C.UTF-8 and the ANYCASTD_* variables passed in `env`, nothing of the agent's own — and
// `/` as working directory. On timeout or abort the whole process group gets SIGKILL, so a script's
// children die with it (across the uid change this takes CAP_KILL), and the probe settles only once the
// command has exited (no zombies left).

import { spawn } from 'node:child_process';
import { type Clock, systemClock } from '../clock.js';
import { OutputCapture } from './output-capture.js';
import { errorText, runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

/** The search path of an exec check: the system directories only. */
export const EXEC_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The locale of an exec check, so its output and messages do not depend on the agent's. */
export const EXEC_LANG = 'C.UTF-8';
const EXEC_CWD = '/';
/**
 * How long after the command exits its stderr may still deliver what it wrote; a pipe a daemonized
 * grandchild keeps open is not waited for beyond it.
 */
export const STDERR_GRACE_MS = 100;

export interface ExecProbeOptions {
  command: string[];
  expectExit: number;
  timeoutMs: number;
  /** The check's own variables (ANYCASTD_TARGET: the instance address the check is about). */
  env?: Record<string, string>;
  /** Run as this uid and gid; absent: as the agent (only when the configured user is the agent's own). */
  uid?: number;
  gid?: number;
  /** Called with the pid once the command started (tests use it to assert the kill). */
  onSpawn?: (pid: number) => void;
  /** The timeout's timer (default: the system clock). */
  clock?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
}

/** The whole environment of an exec check. */
export function execEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: EXEC_PATH, LANG: EXEC_LANG, ...extra };
}

export function probeExec(opts: ExecProbeOptions, signal: AbortSignal): Promise<ProbeResult> {
  const inner = new AbortController();
  const clock = opts.clock ?? systemClock;
  const timer = clock.setTimeout(() => inner.abort(), opts.timeoutMs);
  const onOuter = () => inner.abort();
  signal.addEventListener('abort', onOuter, { once: true });
  const output = new OutputCapture();
  // Settled only by the exit event (never by the abort itself), so a killed command is always reaped —
  // unless the kill itself fails (EPERM: no CAP_KILL), which settles at once and leaves the exit to Node.
  const run = runProbe(new AbortController().signal, (settle, cleanup) => {
    cleanup(() => {
      clock.clearTimeout(timer);
      signal.removeEventListener('abort', onOuter);
    });
    const [file, ...args] = opts.command;
    const child = spawn(file!, args, {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: EXEC_CWD,
      env: execEnv(opts.env),
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    let killed = false;
    const killGroup = () => {
      killed = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch (err) {
        // ESRCH: the group is already gone; anything else means it keeps running.
        if (errorText(err) !== 'ESRCH')
          settle(false, `timeout ${opts.timeoutMs}ms; kill of the process group failed: ${errorText(err)}`);
      }
    };
    if (inner.signal.aborted) killGroup();
    inner.signal.addEventListener('abort', killGroup, { once: true });
    cleanup(() => inner.signal.removeEventListener('abort', killGroup));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const stderr = child.stderr;
    let stderrEnded = stderr === null;
    stderr?.on('data', (chunk: Buffer) => output.push(chunk));
    stderr?.on('error', () => {}); // a pipe torn down under us: what was read stands
    cleanup(() => stderr?.destroy());
    child.on('error', (err) => settleError(settle, err));
    child.once('exit', (code, sig) => {
      const verdict = (): void => {
        if (killed) settle(false, `killed after timeout ${opts.timeoutMs}ms`);
        else if (code === opts.expectExit) settle(true, `exit ${code}`);
        else settle(false, code === null ? `signal ${sig}` : `exit ${code}`);
      };
      if (stderrEnded) return verdict();
      const grace = clock.setTimeout(verdict, STDERR_GRACE_MS);
      stderr?.once('end', () => {
        clock.clearTimeout(grace);
        verdict();
      });
    });
    stderr?.once('end', () => {
      stderrEnded = true;
    });
  });
  return run.then((r) => {
    const text = output.text();
    return text === '' ? r : { ...r, output: text };
  });
}
