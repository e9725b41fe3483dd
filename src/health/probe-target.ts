// What a probe built by makeProbe (probe.ts) is about, in the names the health layer, the logs and the
// metrics give it: the instance (found by the address probed — every instance is checked at its host
// address — or the address itself when no instance has it) and the check (`<type>#<index>` in the
// service's list, as service-health.ts names its runners).

import type { CheckConfig, ServiceConfig } from '../config/types.js';

export interface ProbeTarget {
  service: string;
  instance: string;
  check: string;
}

export function probeTarget(service: ServiceConfig, check: CheckConfig, address: string): ProbeTarget {
  const instance =
    service.instances.find((i) => i.host.ipv4 === address || i.host.ipv6 === address)?.id ?? address;
  return { service: service.name, instance, check: `${check.type}#${service.checks.indexOf(check)}` };
}
