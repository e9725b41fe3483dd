// The systemd notification protocol (sd_notify(3), sd_watchdog_enabled(3)) over the addon's datagram
// sender (native/src/notify.cc): READY=1, RELOADING=1 (with MONOTONIC_USEC), STOPPING=1, STATUS= lines
// and WATCHDOG=1 pings at half of $WATCHDOG_USEC from Node's event loop, so an event loop blocked for
// longer than the unit's WatchdogSec= gets the process killed and restarted. Without $NOTIFY_SOCKET
// (not started by systemd) every call does nothing. A failed send is reported to `onError` and never
// thrown: the agent must not stop because systemd went away.
import type { SystemError } from '../errors.js';
import { native } from './addon.js';
import { callNative } from './errors.js';

const NS_PER_US = 1000n;

export interface NotifierOptions {
  /** The environment to read NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** This process's pid, compared with WATCHDOG_PID (default process.pid). */
  pid?: number;
  onError?: (err: SystemError) => void;
}

export class SystemdNotifier {
  readonly socket: string | undefined;
  /** Interval of the watchdog pings in ms (half of WATCHDOG_USEC), or undefined when none was asked. */
  readonly watchdogMs: number | undefined;
  readonly #onError: ((err: SystemError) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: NotifierOptions = {}) {
    const env = opts.env ?? process.env;
    this.socket = env.NOTIFY_SOCKET || undefined;
    this.watchdogMs = watchdogInterval(env, opts.pid ?? process.pid);
    this.#onError = opts.onError;
  }

  /** Sends the state lines as one datagram; false if there is no socket or the send failed. */
  notify(...lines: string[]): boolean {
    const socket = this.socket;
    if (!socket) return false;
    try {
      callNative(
        () => `notify systemd at ${socket}`,
        () => native().notifySend(socket, lines.join('\n')),
      );
      return true;
    } catch (err) {
      this.#onError?.(err as SystemError);
      return false;
    }
  }

  ready(status: string): boolean {
    return this.notify('READY=1', `STATUS=${status}`);
  }

  /** Entering a reload (what Type=notify-reload of systemd >= 253 expects; older ones take it too). */
  reloading(status: string): boolean {
    return this.notify(
      'RELOADING=1',
      `STATUS=${status}`,
      `MONOTONIC_USEC=${process.hrtime.bigint() / NS_PER_US}`,
    );
  }

  stopping(status: string): boolean {
    return this.notify('STOPPING=1', `STATUS=${status}`);
  }

  status(status: string): boolean {
    return this.notify(`STATUS=${status}`);
  }

  /** Starts the WATCHDOG=1 pings (if systemd asked for them). The timer does not keep the process alive. */
  startWatchdog(): void {
    if (this.watchdogMs === undefined || this.#timer) return;
    this.notify('WATCHDOG=1');
    this.#timer = setInterval(() => this.notify('WATCHDOG=1'), this.watchdogMs);
    this.#timer.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** Half of WATCHDOG_USEC in ms, if it is set for this process (WATCHDOG_PID absent or ours). */
function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}
