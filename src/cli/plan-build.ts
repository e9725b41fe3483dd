// What applying one config over another would do, before it is applied (`anycastd plan`, `check
// --diff`): the BGP sessions opened, closed, reset or only refreshed (config/diff.ts decides which
// fields reset a session), the VIP routes added and withdrawn, and for each service's ring the share
// of buckets — and so of new flows — that would move, computed with the real Maglev builder on both
// member sets (steer/ring-moves.ts). Against a running agent the "before" members are the ones its
// `new` ring holds now, and the "after" members those of them still configured plus every instance the
// new file adds (assumed to pass its checks); offline, every configured instance on both sides.
import { type ConfigDiff, diffConfig } from '../config/diff.js';
import type { Config, ServiceConfig } from '../config/types.js';
import { ringMove } from '../steer/ring-moves.js';

export interface SessionStep {
  peer: string;
  action: 'open' | 'close' | 'reset' | 'refresh';
  /** The fields that changed (reset, refresh). */
  fields: string[];
}

export interface RouteStep {
  prefix: string;
  service: string;
  action: 'advertise' | 'withdraw';
}

export interface RingStep {
  service: string;
  size: number;
  membersBefore: string[];
  membersAfter: string[];
  /** Share of buckets (and of new flows) that move, 0..1. */
  moved: number;
  /** The sizes differ: `moved` is estimated from a sample of flow hashes. */
  sampled: boolean;
}

export interface Plan {
  empty: boolean;
  sessions: SessionStep[];
  routes: RouteStep[];
  rings: RingStep[];
  /** Services whose checks restart (their health starts over). */
  checksRestart: string[];
  /** Other parts restarted in place: metrics, api, cluster, kernel_route. */
  restarted: string[];
  /** Changes a reload does not apply: the agent must be restarted (node.*, dataplane.*). */
  restartRequired: string[];
  /** No rings to move: dataplane.mode none on the side that applies. */
  noRings: boolean;
}

/** Instance id → in the `new` ring now, per service (from the running agent's `instances`). */
export type LiveMembers = ReadonlyMap<string, ReadonlySet<string>>;

const HOST_BITS = { v4: 32, v6: 128 } as const;
const hostPrefix = (a: string): string => `${a}/${a.includes(':') ? HOST_BITS.v6 : HOST_BITS.v4}`;

function ringStep(
  before: ServiceConfig,
  after: ServiceConfig,
  sizes: { before: number; after: number },
  live: ReadonlySet<string> | undefined,
): RingStep | null {
  const known = new Set(before.instances.map((i) => i.id));
  const inBefore = (id: string) => (live ? live.has(id) : true);
  const inAfter = (id: string) => (live ? live.has(id) || !known.has(id) : true);
  const b = before.instances.filter((i) => inBefore(i.id)).map((i) => ({ id: i.id, weight: i.weight }));
  const a = after.instances.filter((i) => inAfter(i.id)).map((i) => ({ id: i.id, weight: i.weight }));
  const m = ringMove({ members: b, size: sizes.before }, { members: a, size: sizes.after });
  if (m.moved === 0 && sizes.before === sizes.after) return null;
  return {
    service: after.name,
    size: sizes.after,
    membersBefore: b.map((x) => x.id).sort(),
    membersAfter: a.map((x) => x.id).sort(),
    moved: m.moved,
    sampled: m.sampled,
  };
}

function sessions(d: ConfigDiff): SessionStep[] {
  return [
    ...d.peers.added.map((p): SessionStep => ({ peer: p.name, action: 'open', fields: [] })),
    ...d.peers.removed.map((p): SessionStep => ({ peer: p.name, action: 'close', fields: [] })),
    ...d.peers.changed.map(
      (c): SessionStep => ({ peer: c.name, action: c.resetSession ? 'reset' : 'refresh', fields: c.fields }),
    ),
  ];
}

function routes(d: ConfigDiff): RouteStep[] {
  const vipSteps = (s: ServiceConfig, action: RouteStep['action'], vips: readonly string[]) =>
    vips.map((v): RouteStep => ({ prefix: hostPrefix(v), service: s.name, action }));
  return [
    ...d.services.added.flatMap((s) => vipSteps(s, 'advertise', s.vips)),
    ...d.services.removed.flatMap((s) => vipSteps(s, 'withdraw', s.vips)),
    ...d.services.changed.flatMap((c) => [
      ...vipSteps(
        c.after,
        'advertise',
        c.after.vips.filter((v) => !c.before.vips.includes(v)),
      ),
      ...vipSteps(
        c.before,
        'withdraw',
        c.before.vips.filter((v) => !c.after.vips.includes(v)),
      ),
    ]),
  ];
}

export function buildPlan(before: Config, after: Config, live?: LiveMembers): Plan {
  const d = diffConfig(before, after);
  const noRings = after.dataplane.mode === 'none';
  const sizes = { before: before.dataplane.ringSize, after: after.dataplane.ringSize };
  const rings: RingStep[] = [];
  if (!noRings)
    for (const s of after.services) {
      const old = before.services.find((x) => x.name === s.name);
      if (!old) continue; // a new service's ring starts empty: no flow of it exists yet
      const step = ringStep(old, s, sizes, live?.get(s.name));
      if (step) rings.push(step);
    }
  const restarted = (
    [
      ['metrics', d.metrics],
      ['api', d.api],
      ['cluster', d.cluster],
      ['kernel_route', d.kernelRoute],
    ] as const
  )
    .filter(([, changed]) => changed)
    .map(([name]) => name);
  return {
    empty: d.empty,
    sessions: sessions(d),
    routes: routes(d),
    rings,
    checksRestart: d.services.changed.filter((c) => c.checksChanged).map((c) => c.name),
    restarted,
    restartRequired: [...d.node.map((f) => `node.${f}`), ...d.dataplane.map((f) => `dataplane.${f}`)],
    noRings,
  };
}
