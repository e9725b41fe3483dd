// The label sets a config implies, so every labelled series can exist from the start at 0: peers ×
// message types / FSM states / RFC 7606 actions, services × VIPs, instances, checks and transition
// reasons, remote instances × reported states, VIP counters × actions / drop reasons, uplinks × XDP mode.
import type { Config, ServiceConfig } from '../config/types.js';
import { DROP_REASONS } from '../steer/layout.js';
import {
  BGP_MESSAGE_TYPES,
  checkLabel,
  FSM_STATES,
  PACKET_ACTIONS,
  REPORTED_STATES,
  RFC7606_ACTIONS,
  RING_KINDS,
  ROUTE_REJECT_REASONS,
  SECOND_CHANCE_OUTCOMES,
  TRANSITION_REASONS,
  type VipLabels,
} from './sources.js';

/** Every (service, VIP, protocol, port) a service's counters are kept for; port 0 = any port. */
export function vipLabelsOf(svc: ServiceConfig): VipLabels[] {
  return svc.vips.flatMap((vip) =>
    svc.ports.map((p) => ({ service: svc.name, vip, protocol: p.protocol, port: p.port ?? 0 })),
  );
}

export const vipLabelStrings = (v: VipLabels): Record<'service' | 'vip' | 'protocol' | 'port', string> => ({
  service: v.service,
  vip: v.vip,
  protocol: v.protocol,
  port: String(v.port),
});

export interface ConfigLabelSets {
  peer: { peer: string }[];
  peerState: { peer: string; state: string }[];
  peerType: { peer: string; type: string }[];
  peerAction: { peer: string; action: string }[];
  peerReject: { peer: string; reason: string }[];
  service: { service: string }[];
  serviceVip: { service: string; vip: string }[];
  check: { service: string; instance_id: string; check: string }[];
  transition: { service: string; instance_id: string; reason: string }[];
  ringShare: { service: string; ring: string; instance_id: string }[];
  reported: { service: string; instance_id: string; state: string }[];
  vip: Record<'service' | 'vip' | 'protocol' | 'port', string>[];
  vipAction: Record<'service' | 'vip' | 'protocol' | 'port' | 'action', string>[];
  vipDrop: Record<'service' | 'vip' | 'protocol' | 'port' | 'reason', string>[];
  vipSecondChance: Record<'service' | 'vip' | 'protocol' | 'port' | 'outcome', string>[];
  xdp: { interface: string; mode: string }[];
}

export function labelSetsOf(cfg: Config): ConfigLabelSets {
  const peers = cfg.peers.map((p) => p.name);
  const per = <K extends string>(key: K, values: readonly string[]) =>
    peers.flatMap((peer) => values.map((v) => ({ peer, [key]: v }) as { peer: string } & Record<K, string>));
  const instances = cfg.services.flatMap((s) =>
    s.instances.map((i) => ({ service: s.name, instance: i.id, svc: s })),
  );
  const vips = cfg.services.flatMap(vipLabelsOf).map(vipLabelStrings);
  return {
    peer: peers.map((peer) => ({ peer })),
    peerState: per('state', FSM_STATES),
    peerType: per('type', BGP_MESSAGE_TYPES),
    peerAction: per('action', RFC7606_ACTIONS),
    peerReject: per('reason', ROUTE_REJECT_REASONS),
    service: cfg.services.map((s) => ({ service: s.name })),
    serviceVip: cfg.services.flatMap((s) => s.vips.map((vip) => ({ service: s.name, vip }))),
    check: instances.flatMap(({ service, instance, svc }) =>
      svc.checks.map((c, i) => ({ service, instance_id: instance, check: checkLabel(c.type, i) })),
    ),
    transition: instances.flatMap(({ service, instance }) =>
      TRANSITION_REASONS.map((reason) => ({ service, instance_id: instance, reason })),
    ),
    ringShare: instances.flatMap(({ service, instance }) =>
      RING_KINDS.map((ring) => ({ service, ring, instance_id: instance })),
    ),
    reported: instances
      .filter(({ instance, svc }) => instance !== svc.localInstanceId)
      .flatMap(({ service, instance }) =>
        REPORTED_STATES.map((state) => ({ service, instance_id: instance, state })),
      ),
    vip: vips,
    vipAction: vips.flatMap((v) => PACKET_ACTIONS.map((action) => ({ ...v, action }))),
    vipDrop: vips.flatMap((v) => DROP_REASONS.map((reason) => ({ ...v, reason }))),
    vipSecondChance: vips.flatMap((v) => SECOND_CHANCE_OUTCOMES.map((outcome) => ({ ...v, outcome }))),
    xdp: cfg.node.uplinks.map((i) => ({ interface: i, mode: cfg.dataplane.xdpMode })),
  };
}
