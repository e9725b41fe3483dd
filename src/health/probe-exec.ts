// Exec check: runs a command (no shell) in its own process group; healthy when it exits with the expected
// code within the timeout. The checked instance's address is in the environment as ANYCASTD_TARGET. On
// timeout or abort the whole process group gets SIGKILL, so a script's children die with it, and the
// probe settles only once the command has exited (no zombies left).

import { spawn } from 'node:child_process';
import { runProbe, settleError } from './probe-util.js';
import type { ProbeResult } from './types.js';

export interface ExecProbeOptions {
  command: string[];
  expectExit: number;
  timeoutMs: number;
  /** Extra environment, e.g. ANYCASTD_TARGET (the instance address the check is about). */
  env?: Record<string, string>;
  /** Called with the pid once the command started (tests use it to assert the kill). */
  onSpawn?: (pid: number) => void;
}

export function probeExec(opts: ExecProbeOptions, signal: AbortSignal): Promise<ProbeResult> {
  const inner = new AbortController();
  const timer = setTimeout(() => inner.abort(), opts.timeoutMs);
  const onOuter = () => inner.abort();
  signal.addEventListener('abort', onOuter, { once: true });
  // Settled only by the exit event (never by the abort itself), so a killed command is always reaped.
  return runProbe(new AbortController().signal, (settle, cleanup) => {
    cleanup(() => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onOuter);
    });
    const [file, ...args] = opts.command;
    const child = spawn(file!, args, {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, ...opts.env },
    });
    let killed = false;
    const killGroup = () => {
      killed = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // ESRCH: the group is already gone.
      }
    };
    if (inner.signal.aborted) killGroup();
    inner.signal.addEventListener('abort', killGroup, { once: true });
    cleanup(() => inner.signal.removeEventListener('abort', killGroup));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    child.on('error', (err) => settleError(settle, err));
    child.once('exit', (code, sig) => {
      if (killed) return settle(false, `killed after timeout ${opts.timeoutMs}ms`);
      if (code === opts.expectExit) return settle(true, `exit ${code}`);
      settle(false, code === null ? `signal ${sig}` : `exit ${code}`);
    });
  });
}
