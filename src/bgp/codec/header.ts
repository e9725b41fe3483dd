// The 19-octet BGP message header (RFC 4271 §4.1) and its checks (§6.1): marker of all ones,
// length within 19..max and at least the type's minimum, known type.

import {
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MARKER_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type MessageTypeCode,
  MIN_LENGTH,
} from './constants.js';
import { BgpEncodeError, fatal } from './errors.js';

const MARKER = Buffer.alloc(MARKER_LENGTH, 0xff);
const LENGTH_OFFSET = MARKER_LENGTH;
const TYPE_OFFSET = MARKER_LENGTH + 2;

/** Wrap a message body in the header. */
export function frame(type: MessageTypeCode, body: Uint8Array, max = MAX_MESSAGE_LENGTH): Buffer {
  const length = HEADER_LENGTH + body.length;
  if (length > max) throw new BgpEncodeError(`message of ${length} octets exceeds ${max}`);
  const out = Buffer.allocUnsafe(length);
  MARKER.copy(out, 0);
  out.writeUInt16BE(length, LENGTH_OFFSET);
  out.writeUInt8(type, TYPE_OFFSET);
  out.set(body, HEADER_LENGTH);
  return out;
}

function lengthData(length: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(length);
  return b;
}

/** Validate the marker and length of a header at the start of `buf` (≥ 19 octets); returns the length. */
export function checkHeader(buf: Buffer, max = MAX_MESSAGE_LENGTH): number {
  if (!buf.subarray(0, MARKER_LENGTH).equals(MARKER)) {
    throw fatal(ErrorCode.MESSAGE_HEADER, HeaderSubcode.CONNECTION_NOT_SYNCHRONIZED, 'bad-marker');
  }
  const length = buf.readUInt16BE(LENGTH_OFFSET);
  if (length < HEADER_LENGTH || length > max) {
    throw fatal(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      'bad-message-length',
      lengthData(length),
    );
  }
  return length;
}

/** Validate a whole message's header (marker, length, type, per-type minimum); returns its type. */
export function checkMessage(msg: Buffer, max = MAX_MESSAGE_LENGTH): MessageTypeCode {
  if (msg.length < HEADER_LENGTH) {
    throw fatal(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      'bad-message-length',
      lengthData(msg.length),
    );
  }
  const length = checkHeader(msg, max);
  if (length !== msg.length) {
    throw fatal(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      'bad-message-length',
      lengthData(length),
    );
  }
  const type = msg[TYPE_OFFSET]!;
  if (!Object.values(MessageType).includes(type as MessageTypeCode)) {
    throw fatal(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_TYPE,
      'bad-message-type',
      Buffer.from([type]),
    );
  }
  const t = type as MessageTypeCode;
  // KEEPALIVE is exactly a header (§6.1); a ROUTE-REFRESH of the wrong length is RFC 7313's own error.
  if (length < MIN_LENGTH[t] || (t === MessageType.KEEPALIVE && length !== MIN_LENGTH[t])) {
    throw fatal(
      ErrorCode.MESSAGE_HEADER,
      HeaderSubcode.BAD_MESSAGE_LENGTH,
      'bad-message-length',
      lengthData(length),
    );
  }
  return t;
}
