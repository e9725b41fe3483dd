// What a state handler may do (the FSM class implements it), and the steps several states share:
// start connecting, send OPEN on a new connection, and fall back to Idle (optionally with a
// NOTIFICATION) with the ConnectRetryCounter rule of RFC 4271 §8.2.2.

import { CeaseSubcode, ErrorCode, FsmSubcode } from '../codec/constants.js';
import type { BgpCodecError } from '../codec/errors.js';
import type { FsmAction, FsmConfig, Negotiated, TimerName, Transition } from './types.js';

export interface FsmContext {
  readonly config: FsmConfig;
  connectRetryCounter: number;
  negotiated: Negotiated | undefined;
  emit(a: FsmAction): void;
  startTimer(t: TimerName, ms: number): void;
  stopTimer(t: TimerName): void;
  stopAllTimers(): void;
  /** Connect-retry delay for the current failure count: exponential backoff with jitter. */
  retryDelayMs(): number;
  /** Count one more failed attempt (the next retry waits longer). */
  failed(): void;
}

export const DEFAULT_OPEN_HOLD_MS = 240_000;
const MS = 1000;

export function startConnectRetry(ctx: FsmContext): void {
  ctx.startTimer('connect-retry', ctx.retryDelayMs());
}

/** Start the connect-retry timer and ask for a TCP connection (Idle/Active → Connect). */
export function initiate(ctx: FsmContext): void {
  startConnectRetry(ctx);
  ctx.emit({ type: 'connect' });
}

/** A TCP connection is up (events 16/17): send OPEN, wait for the peer's with a large hold timer. */
export function sendOpen(ctx: FsmContext): Transition {
  ctx.stopTimer('connect-retry');
  ctx.emit({ type: 'send-open' });
  ctx.startTimer('hold', ctx.config.openHoldTimeMs ?? DEFAULT_OPEN_HOLD_MS);
  return { next: 'open-sent', reason: 'connection-established' };
}

export interface Notify {
  code: number;
  subcode: number;
  data?: Buffer;
}

/**
 * Release everything and go to Idle: optional NOTIFICATION first, then all timers stopped, the
 * connection dropped, and the ConnectRetryCounter incremented, reset or kept as the RFC says.
 */
export function toIdle(
  ctx: FsmContext,
  reason: string,
  counter: 'increment' | 'reset' | 'keep',
  notify?: Notify,
): Transition {
  if (notify) {
    ctx.emit({
      type: 'send-notification',
      code: notify.code,
      subcode: notify.subcode,
      data: notify.data ?? Buffer.alloc(0),
    });
  }
  ctx.stopAllTimers();
  ctx.emit({ type: 'drop-connection' });
  if (counter === 'increment') ctx.connectRetryCounter++;
  else if (counter === 'reset') ctx.connectRetryCounter = 0;
  return { next: 'idle', reason };
}

/** NOTIFICATION from a codec error (header, OPEN or UPDATE error), then Idle. */
export function codecError(ctx: FsmContext, error: BgpCodecError): Transition {
  return toIdle(ctx, error.reason, 'increment', {
    code: error.notifyCode,
    subcode: error.notifySubcode,
    data: error.data,
  });
}

/** An event the state does not expect: FSM Error with the RFC 6608 subcode of the state. */
export function unexpected(ctx: FsmContext, subcode: number, reason: string): Transition {
  return toIdle(ctx, reason, 'increment', { code: ErrorCode.FSM, subcode });
}

export const CEASE_ADMIN_SHUTDOWN: Notify = { code: ErrorCode.CEASE, subcode: CeaseSubcode.ADMIN_SHUTDOWN };
export const CEASE_COLLISION: Notify = { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION };
export const HOLD_TIMER_EXPIRED: Notify = { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 };
export { FsmSubcode };

/** Start (or, with a zero hold time, stop) the negotiated hold timer. */
export function restartHold(ctx: FsmContext): void {
  const hold = ctx.negotiated?.holdTime ?? 0;
  if (hold > 0) ctx.startTimer('hold', hold * MS);
  else ctx.stopTimer('hold');
}

/** The keepalive timer fired: send one and arm it again. */
export function keepaliveDue(ctx: FsmContext): Transition {
  ctx.emit({ type: 'send-keepalive' });
  restartKeepalive(ctx);
  return undefined;
}

export function restartKeepalive(ctx: FsmContext): void {
  const ka = ctx.negotiated?.keepaliveTime ?? 0;
  if (ka > 0) ctx.startTimer('keepalive', ka * MS);
}

/** Stop paths shared by OpenSent, OpenConfirm and Established (events 2, 8, 10). */
export function stopOrExpire(
  ctx: FsmContext,
  ev: { type: string; data?: Buffer; subcode?: number },
): Transition {
  if (ev.type === 'manual-stop')
    return toIdle(ctx, 'manual-stop', 'reset', { ...CEASE_ADMIN_SHUTDOWN, data: ev.data });
  if (ev.type === 'automatic-stop') {
    return toIdle(ctx, 'automatic-stop', 'increment', {
      code: ErrorCode.CEASE,
      subcode: ev.subcode ?? 0,
      data: ev.data,
    });
  }
  if (ev.type === 'hold-timer-expires')
    return toIdle(ctx, 'hold-timer-expired', 'increment', HOLD_TIMER_EXPIRED);
  return undefined;
}
