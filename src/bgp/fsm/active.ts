// Active (RFC 4271 §8.2.2): listening for the peer's connection; when the connect-retry timer fires
// an active speaker tries to connect itself (→ Connect), a passive one keeps listening.

import { type FsmContext, initiate, sendOpen, startConnectRetry, toIdle } from './context.js';
import type { FsmEvent, Transition } from './types.js';

export function active(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'update-sent':
      return undefined;
    case 'manual-stop':
      return toIdle(ctx, 'manual-stop', 'reset');
    case 'connect-retry-timer-expires':
      if (ctx.config.passive) {
        startConnectRetry(ctx);
        return undefined;
      }
      ctx.failed();
      initiate(ctx);
      return { next: 'connect', reason: 'connect-retry-timer-expired' };
    case 'tcp-cr-acked':
    case 'tcp-connection-confirmed':
      return sendOpen(ctx);
    case 'tcp-connection-fails':
      return toIdle(ctx, 'connection-failed', 'increment');
    default:
      return toIdle(ctx, `unexpected-${ev.type}-in-active`, 'increment');
  }
}
