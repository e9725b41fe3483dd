// The plumbing every CLI command that talks to the agent shares: the --socket and --json options, one
// call over the control API, the reply printed as JSON or as human text, errors on stderr (or as a JSON
// object with --json) and the exit code from src/cli/exit.ts; all of it through the command's CliIo.
import type { Command } from 'commander';
import { callOnce } from '../api/client.js';
import type { MethodName, Methods } from '../api/types.js';
import { ApiError } from '../api/types.js';
import { DEFAULT_API_SOCKET } from '../config/schema.js';
import { AnycastdError } from '../errors.js';
import { EXIT_OK, exitCodeOf } from './exit.js';
import type { CliIo } from './io.js';

export const SOCKET_ENV = 'ANYCASTD_SOCKET';

export interface ApiOptions {
  socket: string;
  json?: boolean;
}

/** The socket a command talks to unless --socket says otherwise: $ANYCASTD_SOCKET, else the default. */
export const defaultSocket = (io: CliIo): string => io.env[SOCKET_ENV] || DEFAULT_API_SOCKET;

/** Adds --socket and --json to a command. */
export function apiOptions(cmd: Command, io: CliIo): Command {
  return cmd
    .option('-s, --socket <path>', `control socket of the agent (env ${SOCKET_ENV})`, defaultSocket(io))
    .option('--json', 'print the reply as JSON (one object on one line)');
}

/** Calls `method` and prints the reply: JSON with --json, else `human(reply)`. Sets io.exitCode. */
export async function runApi<M extends MethodName>(
  io: CliIo,
  opts: ApiOptions,
  method: M,
  args: Methods[M]['args'],
  human: (reply: Methods[M]['reply']) => string,
): Promise<void> {
  try {
    const reply = await callOnce(opts.socket, method, args);
    io.out(`${opts.json ? JSON.stringify(reply) : human(reply)}\n`);
    io.exitCode = EXIT_OK;
  } catch (err) {
    io.exitCode = reportError(io, opts.json, err);
  }
}

/**
 * Prints a failed call's error — with --json one object {ok: false, code, error} on stdout, else one line
 * on stderr — and returns its exit code (src/cli/exit.ts).
 */
export function reportError(io: CliIo, json: boolean | undefined, err: unknown): number {
  const code = err instanceof ApiError ? err.apiCode : err instanceof AnycastdError ? err.code : 'ERROR';
  const message = err instanceof Error ? err.message : String(err);
  if (json) io.out(`${JSON.stringify({ ok: false, code, error: message })}\n`);
  else io.err(`anycastd: ${message}\n`);
  return exitCodeOf(err);
}
