// Check durations for the anycastd_health_check_duration_seconds histogram: a probe factory with the
// signature of src/health/probe.ts's makeProbe (ServiceHealthOptions.probeFor) that wraps each real
// probe and records how long every run took, labelled with the service, the instance (found by the
// address the probe targets) and the check's name (`<type>#<index>`, as the health layer names it).
// A run that was an agent fault (src/health/agent-fault.ts) is not observed.
import type { Clock } from '../clock.js';
import type { CheckConfig, ServiceConfig } from '../config/types.js';
import { makeProbe } from '../health/probe.js';
import { probeTarget } from '../health/probe-target.js';
import type { Probe } from '../health/types.js';
import type { MetricsRecorder } from './sources.js';

const MS_PER_SECOND = 1000;

export function timedProbeFor(
  recorder: Pick<MetricsRecorder, 'checkDuration'>,
  service: ServiceConfig,
  inner: typeof makeProbe = makeProbe,
): typeof makeProbe {
  return (check: CheckConfig, address: string, clock?: Clock): Probe => {
    const probe = inner(check, address, clock);
    const target = probeTarget(service, check, address);
    return async (signal) => {
      const result = await probe(signal);
      // a run that was an agent fault never reached the instance: not a check duration
      if (!result.fault)
        recorder.checkDuration(
          target.service,
          target.instance,
          target.check,
          result.durationMs / MS_PER_SECOND,
        );
      return result;
    };
  };
}
