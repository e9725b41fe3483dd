// The CLI in a test, with its exit code, stdout and stderr. `cli` runs it inside the test's process
// (src/cli/program.ts runCli with buffers for stdout and stderr: the same parsing and actions, no node
// start per case); `cliProcess` runs the real program as a child (test/helpers/cli-command.ts: the built
// CLI, or the source through tsx) — kept for a few cases per command family, in the root and slow tiers,
// so the binary itself is still exercised. Either way ANYCASTD_SOCKET is unset: only --socket decides
// where it connects.
import { execFile } from 'node:child_process';
import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { projectRoot } from '../../src/native/addon.js';
import { cliNodeArgs } from '../helpers/cli-command.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `anycastd args...` in this process; resolves with what it printed and its exit status. */
export async function cli(args: string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    out: (text) => {
      out.stdout += text;
    },
    err: (text) => {
      out.stderr += text;
    },
    env: {},
    exitCode: 0,
  };
  const code = await runCli(args, io);
  return { code, ...out };
}

/** Runs `anycastd args...` as a process. */
export function cliProcess(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliNodeArgs(), ...args],
      { cwd: projectRoot(), env: { ...process.env, ANYCASTD_SOCKET: '' } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
      },
    );
  });
}
