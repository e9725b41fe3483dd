// Established (RFC 4271 §8.2.2): KEEPALIVE, UPDATE and ROUTE-REFRESH restart the hold timer; our
// keepalives go out on the negotiated interval (restarted whenever we send an UPDATE); an UPDATE
// error whose RFC 7606 action is session-reset ends the session with its NOTIFICATION.

import { FsmSubcode } from '../codec/constants.js';
import {
  CEASE_COLLISION,
  codecError,
  type FsmContext,
  keepaliveDue,
  restartHold,
  restartKeepalive,
  stopOrExpire,
  toIdle,
  unexpected,
} from './context.js';
import type { FsmEvent, Transition } from './types.js';

export function established(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'tcp-cr-acked':
    case 'tcp-connection-confirmed':
      return undefined;
    case 'manual-stop':
    case 'automatic-stop':
    case 'hold-timer-expires':
      return stopOrExpire(ctx, ev);
    case 'keepalive-timer-expires':
      return keepaliveDue(ctx);
    case 'update-sent':
      restartKeepalive(ctx);
      return undefined;
    case 'keepalive-msg':
    case 'update-msg':
    case 'route-refresh-msg':
      restartHold(ctx);
      return undefined;
    case 'tcp-connection-fails':
      return toIdle(ctx, 'connection-failed', 'increment');
    case 'notif-msg':
      return toIdle(ctx, 'notification-received', 'increment');
    case 'notif-msg-ver-err':
      return toIdle(ctx, 'notification-version-error', 'increment');
    case 'update-msg-err':
    case 'bgp-header-err':
    case 'bgp-open-msg-err':
      return codecError(ctx, ev.error);
    case 'open-collision-dump':
      return toIdle(ctx, 'connection-collision', 'increment', CEASE_COLLISION);
    default:
      return unexpected(ctx, FsmSubcode.UNEXPECTED_IN_ESTABLISHED, `unexpected-${ev.type}-in-established`);
  }
}
