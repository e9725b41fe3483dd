// Per-service metrics from the agent's snapshot: VIP announced, each check's last result, healthy
// instances, each instance's share of the Maglev rings and what each remote one's agent reports; and the event-driven ones the agent pushes
// (check duration histogram, transitions by reason), returned for AnycastdMetrics to record into.
import { Counter, Histogram } from 'prom-client';
import { type MetricFactory, PREFIX } from './factory.js';
import { SeriesSet } from './series.js';
import { REPORTED_STATES, type ServiceMetrics } from './sources.js';

/** Check durations: 1 ms to 10 s (a timeout is at most a few seconds). */
export const CHECK_DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

export interface ServiceEventMetrics {
  checkDuration: Histogram<'service' | 'instance_id' | 'check'>;
  transitions: Counter<'service' | 'instance_id' | 'reason'>;
}

export function defineServiceMetrics(f: MetricFactory): ServiceEventMetrics {
  const services = (): readonly ServiceMetrics[] => f.snap().services;
  const announced = f.gauge(
    'vip_announced',
    'Whether the VIP is advertised to the BGP peers (1) or not (0).',
    ['service', 'vip'],
    (g) => {
      for (const s of services())
        for (const [vip, on] of s.announced) g.set({ service: s.name, vip }, on ? 1 : 0);
    },
  );
  f.track(SeriesSet.gauge(announced), (s) => s.serviceVip);
  const checkUp = f.gauge(
    'health_check_up',
    'Last result of a health check of an instance: 1 passing, 0 failing or not yet run.',
    ['service', 'instance_id', 'check'],
    (g) => {
      for (const s of services())
        for (const c of s.checks)
          g.set({ service: s.name, instance_id: c.instance, check: c.check }, c.up ? 1 : 0);
    },
  );
  f.track(SeriesSet.gauge(checkUp), (s) => s.check);
  const checkDuration = new Histogram({
    name: `${PREFIX}health_check_duration_seconds`,
    help: 'Time a health check probe took.',
    labelNames: ['service', 'instance_id', 'check'],
    buckets: CHECK_DURATION_BUCKETS,
    registers: [f.registry],
  });
  f.track(SeriesSet.histogram(checkDuration), (s) => s.check);
  const transitions = new Counter({
    name: `${PREFIX}health_transitions_total`,
    help: 'Health state changes of an instance, by reason.',
    labelNames: ['service', 'instance_id', 'reason'],
    registers: [f.registry],
  });
  f.track(SeriesSet.counter(transitions), (s) => s.transition);
  const healthy = f.gauge(
    'service_instances_healthy',
    'Instances of the service that are healthy (in its Maglev ring).',
    ['service'],
    (g) => {
      for (const s of services()) g.set({ service: s.name }, s.instancesHealthy);
    },
  );
  f.track(SeriesSet.gauge(healthy), (s) => s.service);
  const share = f.gauge(
    'ring_share_ratio',
    'Fraction of a Maglev ring (new or established) owned by an instance.',
    ['service', 'ring', 'instance_id'],
    (g) => {
      for (const s of services())
        for (const x of s.ringShares)
          g.set({ service: s.name, ring: x.ring, instance_id: x.instance }, x.share);
    },
  );
  f.track(SeriesSet.gauge(share), (s) => s.ringShare);
  const reported = f.gauge(
    'instance_reported_state',
    "A remote instance's state as its own agent reports it (1 for the current state, 0 for the others; " +
      '"none" while nothing is heard from that agent).',
    ['service', 'instance_id', 'state'],
    (g) => {
      for (const s of services())
        for (const r of s.reported)
          for (const state of REPORTED_STATES)
            g.set({ service: s.name, instance_id: r.instance, state }, r.state === state ? 1 : 0);
    },
  );
  f.track(SeriesSet.gauge(reported), (s) => s.reported);
  return { checkDuration, transitions };
}
