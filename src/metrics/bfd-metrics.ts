// BFD metrics (RFC 5880/5881) from the speaker's peer snapshot: each session's state (a state set and
// an up gauge), its transitions by new state, control packets sent and received, sends the kernel
// refused, the detection time in force; the packets dropped before or by a session, by reason; and
// each peer's link state (carrier and admin up). Only peers with a BFD session have its series.
import { DROP_REASONS } from '../bfd/manager.js';
import type { MetricFactory } from './factory.js';
import { setStateSet } from './series.js';
import { BFD_STATES, type BfdMetrics, type PeerMetrics } from './sources.js';

const MS_PER_SECOND = 1000;

export function defineBfdMetrics(f: MetricFactory): void {
  const sessions = (): { peer: string; bfd: BfdMetrics }[] =>
    f.snap().peers.flatMap((p: PeerMetrics) => (p.bfd ? [{ peer: p.name, bfd: p.bfd }] : []));
  f.gauge('bfd_session_up', 'Whether the BFD session to the peer is Up (1) or not (0).', ['peer'], (g) => {
    for (const s of sessions()) g.set({ peer: s.peer }, s.bfd.state === 'up' ? 1 : 0);
  });
  f.gauge(
    'bfd_session_state',
    'BFD session state (RFC 5880): 1 on the current state.',
    ['peer', 'state'],
    (g) => {
      for (const s of sessions()) setStateSet(g, { peer: s.peer }, 'state', BFD_STATES, s.bfd.state);
    },
  );
  f.gauge(
    'bfd_detect_time_seconds',
    'Detection time in force: the peer DetectMult × max(our RequiredMinRx, its DesiredMinTx); 0 before a packet.',
    ['peer'],
    (g) => {
      for (const s of sessions()) g.set({ peer: s.peer }, s.bfd.detectTimeMs / MS_PER_SECOND);
    },
  );
  // Every session's series exist from its first scrape at 0 (and go with it).
  f.mirrored('bfd_transitions_total', 'BFD session state changes, by new state.', ['peer', 'state'], (c) => {
    c.sync(sessions().flatMap((s) => BFD_STATES.map((state) => ({ peer: s.peer, state }))));
    for (const s of sessions())
      for (const state of BFD_STATES) c.set({ peer: s.peer, state }, s.bfd.transitions[state]);
  });
  const perPeer = (name: string, help: string, value: (b: BfdMetrics) => number): void => {
    f.mirrored(name, help, ['peer'], (c) => {
      c.sync(sessions().map((s) => ({ peer: s.peer })));
      for (const s of sessions()) c.set({ peer: s.peer }, value(s.bfd));
    });
  };
  perPeer('bfd_packets_received_total', 'BFD control packets accepted by the session.', (b) => b.packetsIn);
  perPeer('bfd_packets_sent_total', 'BFD control packets sent.', (b) => b.packetsOut);
  perPeer('bfd_send_errors_total', 'BFD control packets the kernel refused to send.', (b) => b.sendErrors);
  const drops = f.mirrored(
    'bfd_packets_dropped_total',
    'Received BFD packets dropped, by reason (ttl, length, version, no-session, source-mismatch, …).',
    ['reason'],
    (c) => {
      for (const [reason, n] of Object.entries(f.snap().bfdDrops)) c.set({ reason }, n);
    },
  );
  drops.sync(DROP_REASONS.map((reason) => ({ reason })));
  f.gauge(
    'peer_link_up',
    "Whether the peer's interface is up with carrier (1) or not (0).",
    ['peer'],
    (g) => {
      for (const p of f.snap().peers) if (p.linkUp !== undefined) g.set({ peer: p.name }, p.linkUp ? 1 : 0);
    },
  );
}
