// NOTIFICATION message (RFC 4271 §4.5): error code, subcode, data. For Cease / Administrative
// Shutdown and Reset the data may be a shutdown communication (RFC 9003: length octet + UTF-8).

import { Reader, Writer } from './buffer.js';
import { CeaseSubcode, ErrorCode, HEADER_LENGTH, HeaderSubcode, MessageType } from './constants.js';
import { fatal } from './errors.js';
import { frame } from './header.js';

export interface NotificationMessage {
  code: number;
  subcode: number;
  data: Buffer;
}

/** RFC 9003 §2: at most 255 octets of UTF-8. */
const MAX_SHUTDOWN_MESSAGE = 255;

export function decodeNotification(msg: Buffer): NotificationMessage {
  const r = new Reader(
    msg,
    () => fatal(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, 'notification-truncated'),
    HEADER_LENGTH,
  );
  return { code: r.u8(), subcode: r.u8(), data: Buffer.from(r.rest()) };
}

export function encodeNotification(n: { code: number; subcode: number; data?: Uint8Array }): Buffer {
  return frame(
    MessageType.NOTIFICATION,
    new Writer()
      .u8(n.code)
      .u8(n.subcode)
      .bytes(n.data ?? Buffer.alloc(0))
      .finish(),
  );
}

function isShutdown(n: { code: number; subcode: number }): boolean {
  return (
    n.code === ErrorCode.CEASE &&
    (n.subcode === CeaseSubcode.ADMIN_SHUTDOWN || n.subcode === CeaseSubcode.ADMIN_RESET)
  );
}

/** The RFC 9003 shutdown communication of a Cease NOTIFICATION, if it carries a well-formed one. */
export function shutdownMessage(n: NotificationMessage): string | undefined {
  if (!isShutdown(n) || n.data.length === 0) return undefined;
  const len = n.data[0]!;
  if (len + 1 > n.data.length) return undefined;
  return n.data.subarray(1, 1 + len).toString('utf8');
}

/** Data field carrying a shutdown communication (truncated to 255 octets on a character boundary). */
export function shutdownData(text: string): Buffer {
  let bytes = Buffer.from(text, 'utf8');
  while (bytes.length > MAX_SHUTDOWN_MESSAGE) {
    text = text.slice(0, -1);
    bytes = Buffer.from(text, 'utf8');
  }
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}
