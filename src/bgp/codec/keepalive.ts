// KEEPALIVE message (RFC 4271 §4.4): a bare header. Its length check (exactly 19) is in header.ts.

import { MessageType } from './constants.js';
import { frame } from './header.js';

const KEEPALIVE = frame(MessageType.KEEPALIVE, Buffer.alloc(0));

export function encodeKeepalive(): Buffer {
  return Buffer.from(KEEPALIVE);
}
