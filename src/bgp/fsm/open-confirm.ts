// OpenConfirm (RFC 4271 §8.2.2): OPENs exchanged, our KEEPALIVE sent, waiting for the peer's
// KEEPALIVE to reach Established. Keepalives keep going out on the negotiated interval.

import { FsmSubcode } from '../codec/constants.js';
import {
  CEASE_COLLISION,
  codecError,
  type FsmContext,
  keepaliveDue,
  restartHold,
  stopOrExpire,
  toIdle,
  unexpected,
} from './context.js';
import type { FsmEvent, Transition } from './types.js';

export function openConfirm(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'tcp-cr-acked':
    case 'tcp-connection-confirmed':
    case 'update-sent':
      return undefined;
    case 'manual-stop':
    case 'automatic-stop':
    case 'hold-timer-expires':
      return stopOrExpire(ctx, ev);
    case 'keepalive-timer-expires':
      return keepaliveDue(ctx);
    case 'tcp-connection-fails':
      return toIdle(ctx, 'connection-failed', 'increment');
    case 'notif-msg':
      return toIdle(ctx, 'notification-received', 'increment');
    case 'notif-msg-ver-err':
      return toIdle(ctx, 'notification-version-error', 'keep');
    case 'bgp-header-err':
    case 'bgp-open-msg-err':
      return codecError(ctx, ev.error);
    case 'open-collision-dump':
      return toIdle(ctx, 'connection-collision', 'increment', CEASE_COLLISION);
    case 'keepalive-msg':
      restartHold(ctx);
      return { next: 'established', reason: 'keepalive-received' };
    default:
      return unexpected(ctx, FsmSubcode.UNEXPECTED_IN_OPEN_CONFIRM, `unexpected-${ev.type}-in-open-confirm`);
  }
}
