// Shared types of the health layer: a probe's result, the states and transitions of checkers and
// instances, and the kebab-case reasons that are logged with every transition.

/** What one probe run found. */
export interface ProbeResult {
  ok: boolean;
  durationMs: number;
  /** Short human text: "connected", "status 503", "exit 1", "timeout after 500ms", ... */
  detail: string;
  /** The first lines the check wrote to stderr (exec checks; bounded: output-capture.ts). */
  output?: string;
  /**
   * Set when the probe could not run because THIS process lacked a resource (agent-fault.ts): the result
   * says nothing about the instance, so the check neither fails nor passes it.
   */
  fault?: AgentFault;
  /** The check's timeout settled it (the instance was silent), as opposed to an answer or an error. */
  timedOut?: boolean;
}

/** A resource this process ran out of, by its errno name in lower case (see agent-fault.ts). */
export type ResourceKind = 'emfile' | 'enfile' | 'enobufs' | 'enomem' | 'eagain';

/** A probe outcome that is the agent's fault, not the instance's. */
export interface AgentFault {
  by: 'agent';
  kind: ResourceKind;
}

/** Runs one probe; must settle by itself within its timeout (and stop early if `signal` aborts). */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

/** 'unknown' until the first checks have settled. */
export type HealthState = 'unknown' | 'up' | 'down';

/** Why a state changed; logged in kebab-case. */
export type TransitionReason =
  | 'check-failed' // fall consecutive failures (or the first failure before the first up)
  | 'rise-reached' // rise consecutive successes
  | 'socket-gone' // the local listening socket disappeared (event-driven, no waiting for fall)
  | 'dampened' // rise reached but the flap penalty keeps it suppressed
  | 'dampening-released' // the penalty decayed below the reuse threshold
  | 'drained' // operator drain (flag or drain file)
  | 'undrained'
  | 'stopped';

export interface Transition {
  from: HealthState;
  to: HealthState;
  reason: TransitionReason;
  /** Clock time (ms) of the change. */
  at: number;
  detail: string;
}
