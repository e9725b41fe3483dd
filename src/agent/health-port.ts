// The health of a service as the agent reads it: every instance, local and remote, with its state and
// its checks, and the operator's drain flag. The agent depends on this interface only, so its ordering
// can be tested with a fake driven by hand; health.ts implements it over src/health's ServiceHealth.

import type { ServiceConfig } from '../config/types.js';
import type { CheckSnapshot, InstanceState, InstanceTransition } from '../health/instance-health.js';

/** A check as the status shows it: the last run, streak and hold are absent when not known (fakes). */
export type CheckView = Pick<CheckSnapshot, 'name' | 'state' | 'detail'> &
  Partial<Pick<CheckSnapshot, 'lastRun' | 'streak' | 'held' | 'suspicion'>>;

export interface HealthPort {
  start(): void;
  stop(): void;
  /** Instance id → state. */
  states(): ReadonlyMap<string, InstanceState>;
  checks(instance: string): CheckView[];
  /** Operator drain of the local instance (the drain file is watched by the health layer itself). */
  setDrainFlag(drained: boolean): void;
}

/** Builds the health of one service; `onTransition` gets every change of an instance's state. */
export type HealthFactory = (
  service: ServiceConfig,
  onTransition: (t: InstanceTransition) => void,
) => HealthPort;
