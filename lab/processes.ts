// The lab's own processes (routing daemons, services, probes started inside namespaces): each is
// started through `ip netns exec` (which execs, so the child's pid is the daemon's pid), tracked by
// pid, and stopped by pid — SIGTERM, then SIGKILL after a grace period. Never by name.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { LabError } from './errors.js';
import { inNs, sleep, sleepSync } from './exec.js';

/** How long a process gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 3_000;
const STOP_POLL_MS = 10;

export interface LabProcess {
  /** What it is, e.g. "bird tor2" (for logs and errors). */
  label: string;
  ns: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** File holding the process's stdout and stderr. */
  logFile: string;
}

/** Field 3 of /proc/<pid>/stat: the process state; 'Z' is a zombie (exited, not yet reaped). */
const STAT_STATE_ZOMBIE = 'Z';

/** True if `pid` is a running process (a zombie counts as exited: it no longer holds anything). */
export function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  // "pid (comm) S ...": comm may hold spaces and parentheses, so split after the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== STAT_STATE_ZOMBIE;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface StartOptions {
  /** Hand stdout to the caller (`child.stdout`) instead of the log file; stderr still goes there. */
  pipeStdout?: boolean;
  /** Give the caller the child's stdin (`child.stdin`) to drive it. */
  pipeStdin?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export class ProcessRegistry {
  readonly #procs = new Map<number, LabProcess>();

  /** Every process still tracked (started and not yet stopped). */
  list(): LabProcess[] {
    return [...this.#procs.values()];
  }

  /**
   * Start `cmd args` in namespace `ns`, stdout and stderr to `logFile` (or stdout piped, see opts). The child gets its own
   * process group, so a terminal's Ctrl-C reaches only the lab, which then stops it in order.
   */
  start(
    label: string,
    ns: string,
    cmd: string,
    args: readonly string[],
    logFile: string,
    opts: StartOptions = {},
  ): LabProcess {
    const [c, a] = inNs(ns, cmd, args);
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      const env = opts.env ? { ...process.env, ...opts.env } : process.env;
      child = spawn(c, a, {
        stdio: [opts.pipeStdin ? 'pipe' : 'ignore', opts.pipeStdout ? 'pipe' : fd, fd],
        detached: true,
        env,
      });
    } finally {
      closeSync(fd);
    }
    if (child.pid === undefined) {
      throw new LabError('ERR_LAB_COMMAND', `${label}: could not start ${cmd} in ${ns}`);
    }
    child.unref();
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown'));
    });
    const proc: LabProcess = { label, ns, pid: child.pid, child, exited, logFile };
    this.#procs.set(proc.pid, proc);
    exited.then(() => this.#procs.delete(proc.pid));
    return proc;
  }

  /** Stop one process: SIGTERM, SIGKILL after the grace period; resolves once it has exited. */
  async stop(proc: LabProcess, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    signal(proc.pid, sig);
    const killTimer = setTimeout(() => signal(proc.pid, 'SIGKILL'), STOP_GRACE_MS);
    // The child is unref'd: once the SIGKILL timer has fired, nothing may hold the event loop open
    // until the exit arrives (the process would end with this promise pending); this interval does.
    const hold = setInterval(() => {}, STOP_GRACE_MS);
    await proc.exited;
    clearTimeout(killTimer);
    clearInterval(hold);
    this.#procs.delete(proc.pid);
  }

  /** Stop every tracked process (asynchronously, all at once). */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((p) => this.stop(p)));
  }

  /**
   * Synchronous form of stopAll() for exit and signal handlers, where the event loop may not run:
   * SIGTERM each, poll for their exit, SIGKILL the ones left after the grace period.
   */
  stopAllSync(): void {
    const pids = this.list().map((p) => p.pid);
    for (const pid of pids) signal(pid, 'SIGTERM');
    const deadline = Date.now() + STOP_GRACE_MS;
    while (pids.some(pidAlive) && Date.now() < deadline) sleepSync(STOP_POLL_MS);
    for (const pid of pids) if (pidAlive(pid)) signal(pid, 'SIGKILL');
    this.#procs.clear();
  }
}

/** Sleep-based wait used by callers that poll a process's own readiness. */
export async function waitExit(proc: LabProcess, timeoutMs: number): Promise<boolean> {
  const timeout = sleep(timeoutMs).then(() => false);
  return Promise.race([proc.exited.then(() => true), timeout]);
}
