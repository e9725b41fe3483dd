// Per-peer BGP metrics from the speaker's snapshot: session up and FSM state, Established since (unix
// seconds), flaps, messages by type and direction, prefixes advertised/received/accepted, and UPDATE
// errors by RFC 7606 action (RFC 4271, RFC 7606), received routes not used by reason (RFC 4271 §5.1.3,
// RFC 4760 §7); and the connections the listeners refused at accept.
import type { MetricFactory } from './factory.js';
import { SeriesSet, setStateSet } from './series.js';
import {
  BGP_MESSAGE_TYPES,
  FSM_STATES,
  type PeerMetrics,
  RFC7606_ACTIONS,
  ROUTE_REJECT_REASONS,
} from './sources.js';

const MS_PER_SECOND = 1000;

export function defineBgpMetrics(f: MetricFactory): void {
  const peers = (): readonly PeerMetrics[] => f.snap().peers;
  const peerGauge = (name: string, help: string, value: (p: PeerMetrics) => number): void => {
    const g = f.gauge(name, help, ['peer'], (g) => {
      for (const p of peers()) g.set({ peer: p.name }, value(p));
    });
    f.track(SeriesSet.gauge(g), (s) => s.peer);
  };
  peerGauge('bgp_session_up', 'Whether the BGP session is Established (1) or not (0).', (p) =>
    p.state === 'established' ? 1 : 0,
  );
  const state = f.gauge(
    'bgp_session_state',
    'BGP FSM state of the session: 1 on the current state.',
    ['peer', 'state'],
    (g) => {
      for (const p of peers()) setStateSet(g, { peer: p.name }, 'state', FSM_STATES, p.state);
    },
  );
  f.track(SeriesSet.gauge(state), (s) => s.peerState);
  peerGauge(
    'bgp_session_established_timestamp_seconds',
    'Unix time the session last became Established; 0 while it is not.',
    (p) => (p.establishedSince === null ? 0 : p.establishedSince / MS_PER_SECOND),
  );
  peerGauge('bgp_prefixes_advertised', 'Prefixes advertised to the peer.', (p) => p.prefixesAdvertised);
  peerGauge('bgp_prefixes_received', 'Prefixes received from the peer.', (p) => p.prefixesReceived);
  peerGauge(
    'bgp_prefixes_accepted',
    'Prefixes received from the peer and accepted by the import policy.',
    (p) => p.prefixesAccepted,
  );
  const flaps = f.mirrored(
    'bgp_session_flaps_total',
    'Times the session left Established.',
    ['peer'],
    (c) => {
      for (const p of peers()) c.set({ peer: p.name }, p.flaps);
    },
  );
  f.track(flaps, (s) => s.peer);
  for (const dir of ['sent', 'received'] as const) {
    const c = f.mirrored(
      `bgp_messages_${dir}_total`,
      `BGP messages ${dir}, by type.`,
      ['peer', 'type'],
      (c) => {
        for (const p of peers()) {
          const counts = dir === 'sent' ? p.messagesSent : p.messagesReceived;
          for (const type of BGP_MESSAGE_TYPES) c.set({ peer: p.name, type }, counts[type]);
        }
      },
    );
    f.track(c, (s) => s.peerType);
  }
  const errors = f.mirrored(
    'bgp_update_errors_total',
    'Malformed UPDATE messages by RFC 7606 action taken (session-reset, treat-as-withdraw, attribute-discard).',
    ['peer', 'action'],
    (c) => {
      for (const p of peers())
        for (const action of RFC7606_ACTIONS) c.set({ peer: p.name, action }, p.updateErrors[action]);
    },
  );
  f.track(errors, (s) => s.peerAction);
  const rejected = f.mirrored(
    'bgp_routes_rejected_total',
    'Received routes not used: a family the session did not negotiate (RFC 4760 §7), a next hop that is ' +
      'this host (RFC 4271 §5.1.3), not on-link on a single-hop session, or missing.',
    ['peer', 'reason'],
    (c) => {
      for (const p of peers())
        for (const reason of ROUTE_REJECT_REASONS) c.set({ peer: p.name, reason }, p.routesRejected[reason]);
    },
  );
  f.track(rejected, (s) => s.peerReject);
  f.mirrored(
    'bgp_connections_refused_total',
    'Inbound BGP connections reset at accept, before a byte was read: not from a peer of that listener.',
    [],
    (c) => c.set({}, f.snap().bgpConnectionsRefused),
  );
}
