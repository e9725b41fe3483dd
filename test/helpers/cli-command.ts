// The argv that runs the CLI as a process in tests: the built product (dist/src/cli/main.js, plain node)
// when dist/ is at least as new as every source file, else the TypeScript source through tsx. Both run
// the same code; the built one starts with a fifth of the CPU (no TypeScript transform per process),
// which is most of what a process-level CLI test spends on a loaded box. `make` builds dist/ (its .stamp
// is touched after every build), so `make test` runs the built CLI; a test run by hand right after a
// source edit falls back to tsx and still tests the edit. (Most CLI tests run the commands in-process:
// test/cli/run-cli.ts.)
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/native/addon.js';

const BUILT_ENTRY = 'dist/src/cli/main.js';
const BUILT_STAMP = 'dist/.stamp';
const SOURCE_ENTRY = 'src/cli/main.ts';
/** Files whose change makes dist/ stale (besides src/**.ts), as the Makefile's dist/.stamp rule says. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json'];

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtimeMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

let chosen: string[] | undefined;

/** True when dist/ was built after the last change to any of its inputs. */
export function builtIsFresh(root = projectRoot()): boolean {
  const stamp = mtimeMs(join(root, BUILT_STAMP));
  if (stamp === undefined || mtimeMs(join(root, BUILT_ENTRY)) === undefined) return false;
  const inputs = Math.max(
    newestMtimeMs(join(root, 'src')),
    ...BUILD_INPUTS.map((f) => mtimeMs(join(root, f)) ?? 0),
  );
  return stamp >= inputs;
}

/** node's arguments (before the CLI's own) that run the CLI; paths relative to the project root. */
export function cliNodeArgs(): string[] {
  chosen ??= builtIsFresh() ? [BUILT_ENTRY] : ['--import', 'tsx', SOURCE_ENTRY];
  return chosen;
}
