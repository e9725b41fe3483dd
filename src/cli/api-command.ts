// The plumbing every CLI command that talks to the agent shares: the --socket and --json options, one
// call over the control API, the reply printed as JSON or as human text, errors on stderr (or as a JSON
// object with --json) and the exit code from src/cli/exit.ts.
import type { Command } from 'commander';
import { callOnce } from '../api/client.js';
import type { MethodName, Methods } from '../api/types.js';
import { ApiError } from '../api/types.js';
import { DEFAULT_API_SOCKET } from '../config/schema.js';
import { AnycastdError } from '../errors.js';
import { EXIT_OK, exitCodeOf } from './exit.js';

export const SOCKET_ENV = 'ANYCASTD_SOCKET';

export interface ApiOptions {
  socket: string;
  json?: boolean;
}

/** The socket a command talks to unless --socket says otherwise: $ANYCASTD_SOCKET, else the default. */
export const defaultSocket = (): string => process.env[SOCKET_ENV] || DEFAULT_API_SOCKET;

/** Adds --socket and --json to a command. */
export function apiOptions(cmd: Command): Command {
  return cmd
    .option('-s, --socket <path>', `control socket of the agent (env ${SOCKET_ENV})`, defaultSocket())
    .option('--json', 'print the reply as JSON (one object on one line)');
}

/** Calls `method` and prints the reply: JSON with --json, else `human(reply)`. Sets process.exitCode. */
export async function runApi<M extends MethodName>(
  opts: ApiOptions,
  method: M,
  args: Methods[M]['args'],
  human: (reply: Methods[M]['reply']) => string,
): Promise<void> {
  try {
    const reply = await callOnce(opts.socket, method, args);
    process.stdout.write(`${opts.json ? JSON.stringify(reply) : human(reply)}\n`);
    process.exitCode = EXIT_OK;
  } catch (err) {
    const code = err instanceof ApiError ? err.apiCode : err instanceof AnycastdError ? err.code : 'ERROR';
    const message = err instanceof Error ? err.message : String(err);
    if (opts.json) process.stdout.write(`${JSON.stringify({ ok: false, code, error: message })}\n`);
    else process.stderr.write(`anycastd: ${message}\n`);
    process.exitCode = exitCodeOf(err);
  }
}
