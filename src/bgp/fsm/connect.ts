// Connect (RFC 4271 §8.2.2): waiting for our outgoing TCP connection (or accepting the peer's).
// No DelayOpen: a connection in either direction sends OPEN at once.

import { type FsmContext, initiate, sendOpen, toIdle } from './context.js';
import type { FsmEvent, Transition } from './types.js';

export function connect(ctx: FsmContext, ev: FsmEvent): Transition {
  switch (ev.type) {
    case 'manual-start':
    case 'automatic-start':
    case 'update-sent':
      return undefined;
    case 'manual-stop':
      return toIdle(ctx, 'manual-stop', 'reset');
    case 'connect-retry-timer-expires':
      // The attempt took too long: drop it and try again, waiting longer next time.
      ctx.emit({ type: 'drop-connection' });
      ctx.failed();
      initiate(ctx);
      return undefined;
    case 'tcp-cr-acked':
    case 'tcp-connection-confirmed':
      return sendOpen(ctx);
    case 'tcp-connection-fails':
      return toIdle(ctx, 'connection-failed', 'keep');
    default:
      return toIdle(ctx, `unexpected-${ev.type}-in-connect`, 'increment');
  }
}
