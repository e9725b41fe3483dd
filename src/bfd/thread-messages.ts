// The messages between the agent's event loop and the BFD thread (thread.ts ↔ thread-main.ts): the
// loop sends the wanted sessions; the thread sends every state change, log event and, every second and
// after each change, a snapshot of all sessions' status and the drop counters. Plain data only
// (structured clone): an error is sent as its message and code.

import type { BfdStateName } from './codec.js';
import type { BfdDropReason, BfdPeerSpec, BfdPeerStatus } from './manager.js';

/** What the thread is started with (workerData). */
export interface BfdThreadData {
  netns?: string;
  port?: number;
  peerPort?: number;
}

export type ToBfdThread = { kind: 'apply'; specs: BfdPeerSpec[] } | { kind: 'close' };

export interface BfdSnapshot {
  statuses: BfdPeerStatus[];
  drops: Record<BfdDropReason, number>;
}

export type FromBfdThread =
  | { kind: 'ready' }
  | ({ kind: 'state'; peer: string; from: BfdStateName; to: BfdStateName; diag: string } & BfdSnapshot)
  | ({ kind: 'snapshot' } & BfdSnapshot)
  | { kind: 'log'; event: string; fields: Record<string, unknown> }
  | { kind: 'closed' };

/** A log field as plain data: an Error becomes { message, code }. */
export function plainField(v: unknown): unknown {
  if (!(v instanceof Error)) return v;
  const code = (v as { code?: unknown }).code;
  return { message: v.message, ...(typeof code === 'string' ? { code } : {}) };
}
