// Teardown on every way out: labs register a synchronous teardown here; it runs on process exit
// (normal end, uncaught exception) and on SIGINT/SIGTERM/SIGHUP, after which the process exits with
// 128 + the signal number, as a shell would report it. Handlers are installed once per process and
// removed when the last lab is gone, so a test runner's own handling is untouched between labs.

import { constants } from 'node:os';

type Teardown = () => void;

const live = new Set<Teardown>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Exit status for "killed by signal N" (POSIX shells' convention). */
const SIGNAL_EXIT_BASE = 128;

function runAll(): void {
  for (const t of [...live]) {
    live.delete(t);
    try {
      t();
    } catch {
      // best effort: the next teardown must still run
    }
  }
}

function onSignal(sig: NodeJS.Signals): void {
  runAll();
  process.exit(SIGNAL_EXIT_BASE + constants.signals[sig]);
}

function install(): void {
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Run `teardown` if the process exits or is signalled before unregister() is called. */
export function registerTeardown(teardown: Teardown): () => void {
  if (live.size === 0) install();
  live.add(teardown);
  return () => {
    live.delete(teardown);
    if (live.size === 0) uninstall();
  };
}
