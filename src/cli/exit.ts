// Exit codes of the `anycastd` command, for scripts: 0 ok, 1 the job failed (or the agent refused it),
// 2 bad usage, an invalid config or an unknown name, 3 the agent's control socket cannot be reached.
import { ApiError, ApiUnreachableError } from '../api/types.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

/** The text of the EXIT STATUS section of every --help and of the man page. */
export const EXIT_STATUS_HELP = `Exit status:
  0  success
  1  the request failed, or the agent could not do it
  2  bad usage, an invalid config file, or an unknown service or VIP
  3  the agent is not reachable (not running, wrong --socket, or no permission on the socket)`;

const USAGE_API_CODES = new Set(['NOT_FOUND', 'INVALID_ARGUMENT', 'INVALID_CONFIG']);

export function exitCodeOf(err: unknown): number {
  if (err instanceof ApiUnreachableError) return EXIT_UNREACHABLE;
  if (err instanceof ApiError) return USAGE_API_CODES.has(err.apiCode) ? EXIT_USAGE : EXIT_FAILED;
  return EXIT_FAILED;
}
