// The CLI as a process (test/helpers/cli-command.ts: the built CLI, or the source through tsx), with its exit code,
// stdout and stderr; ANYCASTD_SOCKET is cleared so only --socket decides where it connects.
import { execFile } from 'node:child_process';
import { projectRoot } from '../../src/native/addon.js';
import { cliNodeArgs } from '../helpers/cli-command.js';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[]): Promise<Run> {
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
