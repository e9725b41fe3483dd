// Agent faults: a probe that could not run because THIS process lacked a resource — no free file descriptor
// (EMFILE: the process's RLIMIT_NOFILE; ENFILE: the system's table), no socket buffer (ENOBUFS), no memory
// (ENOMEM), or no process to run a check in (EAGAIN from fork/clone, only on spawn: on a socket EAGAIN is
// ordinary flow control). Such a result says nothing about the instance that was to be checked: the check
// state machine neither fails nor passes it (check-state.ts); the agent logs and counts it and frees its fd
// reserve (resource-faults.ts). Any other error is the instance's (or the network's) and fails the check.

import type { AgentFault, ResourceKind } from './types.js';

/** Every kind, in the order the metric lists them. */
export const RESOURCE_KINDS = [
  'emfile',
  'enfile',
  'enobufs',
  'enomem',
  'eagain',
] as const satisfies readonly ResourceKind[];

/** The kinds that mean no file descriptor could be had (the fd reserve is handed back on these). */
export const FD_SHORTAGE: ReadonlySet<ResourceKind> = new Set<ResourceKind>(['emfile', 'enfile']);

const ALWAYS: Readonly<Record<string, ResourceKind>> = {
  EMFILE: 'emfile',
  ENFILE: 'enfile',
  ENOBUFS: 'enobufs',
  ENOMEM: 'enomem',
};
/** Node names a failed child_process.spawn `spawn` or `spawn <file>`. */
const SPAWN_SYSCALL = /^spawn(\s|$)/;

/** The agent fault an error stands for, or null when it is about the target. */
export function agentFaultOf(err: unknown): AgentFault | null {
  if (typeof err !== 'object' || err === null) return null;
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string') return null;
  const kind =
    ALWAYS[code] ??
    (code === 'EAGAIN' && typeof syscall === 'string' && SPAWN_SYSCALL.test(syscall) ? 'eagain' : undefined);
  return kind === undefined ? null : { by: 'agent', kind };
}
