// Types of the RFC 4271 §8 finite state machine: states, the events it takes in (§8.1 names, in
// kebab-case), the actions it puts out, and its configuration.

import type { BgpCodecError } from '../codec/errors.js';
import type { NotificationMessage } from '../codec/notification.js';
import type { OpenMessage } from '../codec/open.js';

export type FsmState = 'idle' | 'connect' | 'active' | 'open-sent' | 'open-confirm' | 'established';

export type TimerName = 'connect-retry' | 'hold' | 'keepalive' | 'idle-hold';

export type FsmEvent =
  | { type: 'manual-start' }
  | { type: 'manual-stop'; data?: Buffer }
  | { type: 'automatic-start' }
  /** Cease with this subcode (RFC 4486) and data (e.g. AFI, SAFI, limit for Maximum Number of Prefixes). */
  | { type: 'automatic-stop'; subcode?: number; data?: Buffer }
  | { type: 'connect-retry-timer-expires' }
  | { type: 'hold-timer-expires' }
  | { type: 'keepalive-timer-expires' }
  | { type: 'idle-hold-timer-expires' }
  /** Our outgoing connection completed (RFC 4271 event 16). */
  | { type: 'tcp-cr-acked' }
  /** An incoming connection from the peer was accepted (event 17). */
  | { type: 'tcp-connection-confirmed' }
  | { type: 'tcp-connection-fails' }
  | { type: 'bgp-open'; open: OpenMessage }
  | { type: 'bgp-header-err'; error: BgpCodecError }
  | { type: 'bgp-open-msg-err'; error: BgpCodecError }
  /** The session layer resolved a connection collision (§6.8) against this connection. */
  | { type: 'open-collision-dump' }
  | { type: 'notif-msg-ver-err'; notification: NotificationMessage }
  | { type: 'notif-msg'; notification: NotificationMessage }
  | { type: 'keepalive-msg' }
  | { type: 'update-msg' }
  | { type: 'route-refresh-msg' }
  /** An UPDATE error whose RFC 7606 action is session-reset. */
  | { type: 'update-msg-err'; error: BgpCodecError }
  /** We sent an UPDATE: the keepalive timer restarts (§4.4). */
  | { type: 'update-sent' };

/** What the hold-time negotiation and OPEN checks settled on (§4.2, RFC 6793). */
export interface Negotiated {
  holdTime: number;
  keepaliveTime: number;
  peerAs: number;
  peerId: string;
  /** Both sides sent the 4-octet AS capability. */
  as4: boolean;
  peerOpen: OpenMessage;
}

export type FsmAction =
  | { type: 'connect' }
  | { type: 'drop-connection' }
  | { type: 'send-open' }
  | { type: 'send-keepalive' }
  | { type: 'send-notification'; code: number; subcode: number; data: Buffer }
  | { type: 'timer-start'; timer: TimerName; ms: number }
  | { type: 'timer-stop'; timer: TimerName }
  | { type: 'state-change'; from: FsmState; to: FsmState; reason: string }
  | { type: 'session-up'; negotiated: Negotiated }
  | { type: 'session-down'; reason: string };

export interface FsmConfig {
  localAs: number;
  localId: string;
  /** Expected peer AS; undefined accepts any. */
  peerAs?: number;
  /** Proposed hold time in seconds (0, or ≥ 3). Default 90. */
  holdTime?: number;
  /** Keepalive interval in seconds; default and maximum: a third of the negotiated hold time. */
  keepaliveTime?: number;
  /** We advertise the 4-octet AS capability (default true). */
  as4?: boolean;
  /** Only wait for the peer to connect (PassiveTcpEstablishment). */
  passive?: boolean;
  /** After an error, start again by itself after the idle hold (backoff) time. Default true. */
  autoRestart?: boolean;
  /** Connect-retry / restart backoff: base and ceiling in ms, doubled per consecutive failure, jittered. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Hold timer while waiting for the peer's OPEN (§8: "a large value", 4 minutes suggested). */
  openHoldTimeMs?: number;
  /** Capability codes the peer must advertise, else OPEN error "Unsupported Capability" (RFC 5492). */
  requiredCapabilities?: number[];
}

export type Transition = { next: FsmState; reason: string } | undefined;
