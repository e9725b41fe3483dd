// Check durations for the anycastd_health_check_duration_seconds histogram: a probe factory with the
// signature of src/health/probe.ts's makeProbe (ServiceHealthOptions.probeFor) that wraps each real
// probe and records how long every run took, labelled with the service, the instance (found by the
// address the probe targets) and the check's name (`<type>#<index>`, as the health layer names it).
import type { CheckConfig, ServiceConfig } from '../config/types.js';
import { makeProbe } from '../health/probe.js';
import type { Probe } from '../health/types.js';
import { checkLabel, type MetricsRecorder } from './sources.js';

const MS_PER_SECOND = 1000;

export function timedProbeFor(
  recorder: Pick<MetricsRecorder, 'checkDuration'>,
  service: ServiceConfig,
  inner: typeof makeProbe = makeProbe,
): typeof makeProbe {
  return (check: CheckConfig, address: string): Probe => {
    const probe = inner(check, address);
    const instance =
      service.instances.find((i) => i.host.ipv4 === address || i.host.ipv6 === address)?.id ?? address;
    const name = checkLabel(check.type, service.checks.indexOf(check));
    return async (signal) => {
      const result = await probe(signal);
      recorder.checkDuration(service.name, instance, name, result.durationMs / MS_PER_SECOND);
      return result;
    };
  };
}
