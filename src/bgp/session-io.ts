// The plumbing under a BgpSession: one TCP connection with its framer, the default outgoing connect,
// and the mapping of received messages and codec errors to RFC 4271 §8.1 FSM events.

import net from 'node:net';
import type { Clock } from '../clock.js';
import { ErrorCode, OpenSubcode } from './codec/constants.js';
import type { BgpCodecError } from './codec/errors.js';
import { Framer } from './codec/framer.js';
import type { BgpMessage } from './codec/message.js';
import type { Direction } from './fsm/collision.js';
import type { FsmEvent } from './fsm/types.js';

export const BGP_PORT = 179;
/** How long a dropped connection may take to flush a last NOTIFICATION before it is destroyed. */
export const LINGER_MS = 1000;

/** Plain TCP connect (no MD5/GTSM): the default when the session is given no `connect`. */
export function tcpConnect(o: {
  peerAddress: string;
  port?: number;
  localAddress?: string;
}): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: o.peerAddress, port: o.port ?? BGP_PORT, localAddress: o.localAddress });
    s.once('error', reject);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

/** Ends `socket` (after `last`, if given) and destroys it LINGER_MS later on `clock`, flushed or not. */
export function linger(socket: net.Socket, clock: Pick<Clock, 'setTimeout'>, last?: Buffer): void {
  if (last) socket.end(last);
  else socket.end();
  clock.setTimeout(() => socket.destroy(), LINGER_MS, { unref: true });
}

/** One TCP connection and its framer. */
export class Connection {
  readonly framer = new Framer();
  socket: net.Socket | undefined;
  constructor(
    readonly direction: Direction,
    private readonly clock: Pick<Clock, 'setTimeout'>,
  ) {}
  close(): void {
    const s = this.socket;
    this.socket = undefined;
    if (s) linger(s, this.clock);
  }
}

/** The FSM event a received message raises (events 19, 25-27 and the ROUTE-REFRESH extension). */
export function messageEvent(msg: BgpMessage): FsmEvent {
  switch (msg.type) {
    case 'open':
      return { type: 'bgp-open', open: msg };
    case 'keepalive':
      return { type: 'keepalive-msg' };
    case 'notification': {
      const versionError =
        msg.code === ErrorCode.OPEN_MESSAGE && msg.subcode === OpenSubcode.UNSUPPORTED_VERSION;
      return versionError
        ? { type: 'notif-msg-ver-err', notification: msg }
        : { type: 'notif-msg', notification: msg };
    }
    case 'route-refresh':
      return { type: 'route-refresh-msg' };
    case 'update':
      return { type: 'update-msg' };
  }
}

/** The FSM event a decode failure raises (events 21, 22, 28). */
export function codecErrorEvent(error: BgpCodecError): FsmEvent {
  if (error.notifyCode === ErrorCode.OPEN_MESSAGE) return { type: 'bgp-open-msg-err', error };
  if (error.notifyCode === ErrorCode.UPDATE_MESSAGE) return { type: 'update-msg-err', error };
  return { type: 'bgp-header-err', error };
}
