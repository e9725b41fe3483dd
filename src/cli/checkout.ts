// The commands that run the harness kept beside the product — `anycastd bench` (bench/run.ts) and
// `anycastd demo` (lab/demo.ts). Those programs exist only in a source checkout and run as TypeScript
// through tsx (a dev dependency); the product never imports them. Run from an installed package (no such
// file beside it) the command says so and exits 2. The child's exit status becomes ours; SIGINT, SIGTERM
// and SIGHUP are passed on to it and we wait for it, so the harness tears down what it built.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../native/addon.js';
import { EXIT_FAILED, EXIT_USAGE } from './exit.js';
import type { CliIo } from './io.js';

const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
/** Exit status for "killed by signal N" (POSIX shells' convention). */
const SIGNAL_EXIT_BASE = 128;

/** The absolute path of `relative` in the checkout this command runs from, or undefined if absent. */
export function checkoutFile(relative: string, root: string = projectRoot()): string | undefined {
  const path = join(root, relative);
  return existsSync(path) ? path : undefined;
}

/**
 * Runs `relative` (a TypeScript program of the checkout) with tsx, stdio inherited, in the checkout's
 * root; resolves with the exit status to report.
 */
export function runFromCheckout(
  io: CliIo,
  command: string,
  relative: string,
  args: readonly string[],
): Promise<number> {
  const root = projectRoot();
  const entry = checkoutFile(relative, root);
  if (entry === undefined) {
    io.err(
      `anycastd ${command}: needs a source checkout (${relative} is not in ${root}; an installed package has none)\n`,
    );
    return Promise.resolve(EXIT_USAGE);
  }
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  for (const s of FORWARDED_SIGNALS) process.on(s, forward);
  return new Promise((resolve) => {
    const done = (status: number): void => {
      for (const s of FORWARDED_SIGNALS) process.off(s, forward);
      resolve(status);
    };
    child.once('error', (err) => {
      io.err(`anycastd ${command}: ${err.message}\n`);
      done(EXIT_FAILED);
    });
    child.once('exit', (code, signal) =>
      done(code ?? (signal ? SIGNAL_EXIT_BASE + constants.signals[signal] : EXIT_FAILED)),
    );
  });
}
