// `checks`: every check of every instance (or of one service) as the health layer last saw it — state,
// the last run's result and reason, its latency and time, the streak, a dampening hold, and for exec
// checks the first lines of stderr. Read from the agent's status(); the health layer keeps only the last
// run per check, so this costs nothing between calls.
import type { AgentStatus } from '../agent/status.js';
import type { CheckInfo } from './types.js';

const MS_PER_SECOND = 1000;

/** The check's type from its name (`<type>#<index>`, src/metrics/sources.ts checkLabel). */
const typeOf = (name: string): string => name.slice(0, name.lastIndexOf('#'));

export function checksOf(status: AgentStatus, services: ReadonlySet<string>, nowMs: number): CheckInfo[] {
  return status.services
    .filter((s) => services.has(s.name))
    .flatMap((s) =>
      s.instances.flatMap((i) =>
        i.checks.map((c): CheckInfo => {
          const run = c.lastRun ?? null;
          return {
            service: s.name,
            instance: i.id,
            local: i.local,
            name: c.name,
            type: typeOf(c.name),
            state: c.state,
            lastResult: run === null ? 'none' : run.agentFault ? 'agent-fault' : run.ok ? 'ok' : 'failed',
            reason: c.detail,
            latencySeconds: run ? run.latencyMs / MS_PER_SECOND : 0,
            lastRun: run ? (nowMs - run.ageMs) / MS_PER_SECOND : 0,
            successes: c.streak?.ok ?? 0,
            failures: c.streak?.failed ?? 0,
            held: c.held ?? false,
            output: run?.output ?? '',
            suspicion: c.suspicion ?? '',
          };
        }),
      ),
    );
}
