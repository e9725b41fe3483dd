// OpenSent (RFC 4271 §8.2.2): our OPEN is out, waiting for the peer's. A valid OPEN negotiates the
// hold time and moves to OpenConfirm with a KEEPALIVE; an invalid one gets the NOTIFICATION that
// checkOpen chose. Anything unexpected is an FSM Error (RFC 6608 subcode 1).

import { FsmSubcode } from '../codec/constants.js';
import {
  CEASE_COLLISION,
  codecError,
  type FsmContext,
  restartHold,
  restartKeepalive,
  startConnectRetry,
  stopOrExpire,
  toIdle,
  unexpected,
} from './context.js';
import { checkOpen } from './open-check.js';
import type { FsmEvent, Transition } from './types.js';

export function openSent(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'tcp-cr-acked':
    case 'tcp-connection-confirmed':
    case 'update-sent':
      return undefined; // a second connection is the session's collision business
    case 'manual-stop':
    case 'automatic-stop':
    case 'hold-timer-expires':
      return stopOrExpire(ctx, ev);
    case 'tcp-connection-fails':
      // §8.2.2: close, restart the connect-retry timer and listen again.
      ctx.emit({ type: 'drop-connection' });
      ctx.stopTimer('hold');
      startConnectRetry(ctx);
      return { next: 'active', reason: 'connection-failed' };
    case 'bgp-open': {
      const verdict = checkOpen(ev.open, ctx.config);
      if (!verdict.ok) return toIdle(ctx, verdict.reason, 'increment', verdict);
      ctx.negotiated = verdict.negotiated;
      ctx.stopTimer('connect-retry');
      ctx.emit({ type: 'send-keepalive' });
      restartKeepalive(ctx);
      restartHold(ctx);
      return { next: 'open-confirm', reason: 'open-received' };
    }
    case 'bgp-header-err':
    case 'bgp-open-msg-err':
      return codecError(ctx, ev.error);
    case 'open-collision-dump':
      return toIdle(ctx, 'connection-collision', 'increment', CEASE_COLLISION);
    case 'notif-msg-ver-err':
      return toIdle(ctx, 'notification-version-error', 'keep');
    case 'notif-msg':
      // RFC 4271 would answer with an FSM Error; answering a NOTIFICATION is pointless (as in FRR, BIRD).
      return toIdle(ctx, 'notification-received', 'increment');
    default:
      return unexpected(ctx, FsmSubcode.UNEXPECTED_IN_OPEN_SENT, `unexpected-${ev.type}-in-open-sent`);
  }
}
