// Idle (RFC 4271 §8.2.2): refuses connections; a start event (manual, automatic, or the idle-hold
// timer of an automatic restart) begins connecting — or only listening when the peer is passive.

import { type FsmContext, initiate, startConnectRetry } from './context.js';
import type { FsmEvent, Transition } from './types.js';

export function idle(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'idle-hold-timer-expires': {
      ctx.connectRetryCounter = 0;
      ctx.stopTimer('idle-hold');
      const reason = ev.type === 'idle-hold-timer-expires' ? 'automatic-restart' : ev.type;
      if (ctx.config.passive) {
        startConnectRetry(ctx);
        return { next: 'active', reason };
      }
      initiate(ctx);
      return { next: 'connect', reason };
    }
    default:
      return undefined; // every other event is ignored in Idle
  }
}
