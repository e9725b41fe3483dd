// A service as the rings see it with the etcd backend: the config's local instance plus every other
// registered instance (src/cluster/etcd/), each judged by its own agent alone — failed stands for this
// host's checks saying down, and its state and `new`/`established` for its report — so the rings
// are a function of the store at one revision and the same on every host.

import type { Member } from '../cluster/etcd/membership.js';
import type { InstanceReport } from '../cluster/report.js';
import type { ServiceConfig } from '../config/types.js';
import type { InstanceState } from '../health/instance-health.js';
import type { Reported } from './service-rings.js';

export interface MembersView {
  config: ServiceConfig;
  states: ReadonlyMap<string, InstanceState>;
  reported: Reported;
}

export function membersView(
  config: ServiceConfig,
  members: readonly Member[],
  localStates: ReadonlyMap<string, InstanceState>,
): MembersView {
  const local = config.instances.filter((i) => i.id === config.localInstanceId);
  const states = new Map<string, InstanceState>();
  const reports = new Map<string, InstanceReport>();
  for (const i of local) states.set(i.id, localStates.get(i.id) ?? 'unknown');
  for (const m of members) {
    // 'up' here means "may be in a ring": a drained member stays in `established` while its agent keeps it
    states.set(m.id, m.state === 'failed' ? 'down' : 'up');
    reports.set(m.id, {
      state: m.state === 'failed' ? 'down' : m.state,
      new: m.new,
      established: m.established,
    });
  }
  return {
    config: {
      ...config,
      instances: [...local, ...members.map((m) => ({ id: m.id, host: m.host, weight: m.weight }))],
    },
    states,
    reported: (id) => reports.get(id),
  };
}
