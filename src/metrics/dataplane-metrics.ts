// Data-plane metrics, read from the kernel at each scrape (per-CPU maps summed): per VIP, packets and
// bytes received, packets by action, drops by reason and second-chance outcomes; for the program,
// flow-table lookups, socket lookups, parse failures, non-VIP packets, flow-table fill; and where it is
// attached, in which mode.
import { DROP_REASONS, type VipStats } from '../steer/layout.js';
import type { MetricFactory } from './factory.js';
import { vipLabelStrings } from './label-sets.js';
import { SeriesSet } from './series.js';
import type { DataplaneMetrics, PacketAction, SecondChanceOutcome } from './sources.js';

const VIP_LABELS = ['service', 'vip', 'protocol', 'port'] as const;
type VipCounter = keyof Omit<VipStats, 'drops'>;
const ACTION_FIELD: Record<PacketAction, VipCounter> = {
  local: 'local',
  forwarded: 'forwarded',
  decapsulated: 'decap',
  icmp_too_big: 'too_big',
  icmp_error: 'icmp_err',
};
const SECOND_CHANCE_FIELD: Record<SecondChanceOutcome, VipCounter> = {
  socket: 'sc_socket',
  forwarded: 'sc_forwarded',
  used: 'sc_used',
  none: 'sc_none',
};

export function defineDataplaneMetrics(f: MetricFactory): void {
  const dp = (): DataplaneMetrics | null => f.snap().dataplane;
  const perVip = [
    ['dataplane_received_packets_total', 'Packets to the VIP seen by the XDP program.', 'packets'],
    ['dataplane_received_bytes_total', 'Bytes of the packets to the VIP seen by the XDP program.', 'bytes'],
    [
      'dataplane_stale_sockets_total',
      "Second-chance socket checks that found an older connection's socket on the same addresses and " +
        'ports (the segment outside its receive window), taken as no socket.',
      'sc_stale',
    ],
  ] as const;
  for (const [name, help, field] of perVip) {
    const c = f.mirrored(name, help, [...VIP_LABELS], (c) => {
      for (const v of dp()?.vips ?? []) c.set(vipLabelStrings(v.labels), v.stats[field]);
    });
    f.track(c, (s) => s.vip);
  }
  /** A per-VIP counter with one more label, each of its values mirroring one vip_stats field. */
  const perVipBy = (name: string, help: string, label: string, fields: Record<string, VipCounter>) =>
    f.mirrored(name, help, [...VIP_LABELS, label], (c) => {
      for (const v of dp()?.vips ?? [])
        for (const [value, field] of Object.entries(fields))
          c.set({ ...vipLabelStrings(v.labels), [label]: value }, v.stats[field]);
    });
  const actions = perVipBy(
    'dataplane_packets_total',
    'Packets to the VIP by action: local (passed to this host), forwarded (encapsulated to another), decapsulated, icmp_too_big (answered), icmp_error (steered to the flow owner).',
    'action',
    ACTION_FIELD,
  );
  f.track(actions, (s) => s.vipAction);
  const drops = f.mirrored(
    'dataplane_dropped_packets_total',
    'Packets to the VIP dropped, by reason.',
    [...VIP_LABELS, 'reason'],
    (c) => {
      for (const v of dp()?.vips ?? [])
        for (const reason of DROP_REASONS)
          c.set({ ...vipLabelStrings(v.labels), reason }, v.stats.drops[reason]);
    },
  );
  f.track(drops, (s) => s.vipDrop);
  const secondChance = perVipBy(
    'dataplane_second_chance_total',
    'Non-SYN TCP packets of a two-ring service that missed the flow table and were owned here or ' +
      'decapsulated here, by outcome: socket (a socket here: passed), forwarded (none here: sent once, ' +
      "marked, to the other ring's owner), used (none here, already had its chance: passed), none (none " +
      'here and no other owner: passed).',
    'outcome',
    SECOND_CHANCE_FIELD,
  );
  f.track(secondChance, (s) => s.vipSecondChance);
  f.mirrored(
    'dataplane_flow_lookups_total',
    'Flow-table lookups for VIP packets, by result (hit, miss).',
    ['result'],
    (c) => {
      const g = dp()?.global;
      if (g) {
        c.set({ result: 'hit' }, g.flow_hit);
        c.set({ result: 'miss' }, g.flow_miss);
      }
    },
  ).sync([{ result: 'hit' }, { result: 'miss' }]);
  const global = [
    [
      'dataplane_parse_failures_total',
      'Packets the XDP program could not parse (passed on untouched).',
      'parse_fail',
    ],
    [
      'dataplane_non_vip_packets_total',
      'IP packets not addressed to a VIP (passed on untouched).',
      'non_vip',
    ],
    [
      'dataplane_socket_lookups_total',
      'Socket lookups (bpf_skc_lookup_tcp) made for second-chance decisions.',
      'sk_lookup',
    ],
    [
      'dataplane_stale_flows_total',
      "Flow-table hits not trusted: the segment's sequence number far from the entry's last one (an older " +
        'connection on the same addresses and ports), and for a local instance no socket fitting it: ' +
        're-steered as misses.',
      'stale_flow',
    ],
    [
      'dataplane_flood_bypass_total',
      'New flows steered by the ring but not recorded in the flow table: this CPU was past ' +
        'dataplane.flood_guard.new_flows_per_cpu_per_s inserts in the current second.',
      'flood_bypass',
    ],
  ] as const;
  for (const [name, help, field] of global)
    f.mirrored(name, help, [], (c) => {
      const g = dp()?.global;
      if (g) c.set({}, g[field]);
    }).sync([{}]);
  f.gauge('dataplane_flow_table_entries', 'Entries in the XDP flow table (LRU).', [], (g) =>
    g.set(dp()?.flows.entries ?? 0),
  );
  f.gauge('dataplane_flow_table_capacity', 'Maximum entries of the XDP flow table.', [], (g) =>
    g.set(dp()?.flows.capacity ?? 0),
  );
  f.gauge('dataplane_flow_table_fill_ratio', 'Entries of the XDP flow table over its capacity.', [], (g) => {
    const flows = dp()?.flows;
    g.set(flows && flows.capacity > 0 ? flows.entries / flows.capacity : 0);
  });
  const xdp = f.gauge(
    'xdp_attached',
    'Whether the steering program is attached to the interface in the mode (1) or not (0).',
    ['interface', 'mode'],
    (g) => {
      for (const x of dp()?.xdp ?? []) g.set({ interface: x.interface, mode: x.mode }, x.attached ? 1 : 0);
    },
  );
  f.track(SeriesSet.gauge(xdp), (s) => s.xdp);
}
