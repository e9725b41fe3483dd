// OPEN message (RFC 4271 §4.2): version, My AS, hold time, BGP identifier, optional parameters.
// Only parameter type 2, capabilities (RFC 5492), is understood; any other type is "Unsupported
// Optional Parameter" (§6.2). Semantic checks (peer AS, identifier, hold time, version) live in the FSM.

import { ipv4ToBytes, ipv4ToString } from './addr.js';
import { Reader, Writer } from './buffer.js';
import { type Capability, decodeCapabilities, encodeCapability } from './capabilities.js';
import {
  AS_TRANS,
  BGP_VERSION,
  ErrorCode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_AS2,
  MessageType,
  OPT_PARAM_CAPABILITIES,
  OpenSubcode,
} from './constants.js';
import { BgpEncodeError, fatal } from './errors.js';
import { frame } from './header.js';

export interface OpenMessage {
  version: number;
  /** The 2-octet My AS field (AS_TRANS when the real AS needs 4 octets). */
  myAs: number;
  holdTime: number;
  /** BGP identifier in dotted-quad form. */
  bgpId: string;
  capabilities: Capability[];
}

/** Max octets of one optional parameter value. */
const MAX_PARAM_LEN = 255;

export function decodeOpen(msg: Buffer): OpenMessage {
  const r = new Reader(
    msg,
    () => fatal(ErrorCode.MESSAGE_HEADER, HeaderSubcode.BAD_MESSAGE_LENGTH, 'open-truncated'),
    HEADER_LENGTH,
  );
  const version = r.u8();
  const myAs = r.u16();
  const holdTime = r.u16();
  const bgpId = ipv4ToString(r.bytes(4));
  const paramsLen = r.u8();
  if (paramsLen !== r.remaining) {
    throw fatal(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, 'open-parameters-length-mismatch');
  }
  const params = r.sub(paramsLen, () =>
    fatal(ErrorCode.OPEN_MESSAGE, OpenSubcode.UNSPECIFIC, 'open-parameter-truncated'),
  );
  const capabilities: Capability[] = [];
  while (params.remaining > 0) {
    const type = params.u8();
    const len = params.u8();
    const value = params.bytes(len);
    if (type !== OPT_PARAM_CAPABILITIES) {
      throw fatal(
        ErrorCode.OPEN_MESSAGE,
        OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER,
        'unsupported-optional-parameter',
        Buffer.from([type]),
      );
    }
    capabilities.push(...decodeCapabilities(value));
  }
  return { version, myAs, holdTime, bgpId, capabilities };
}

/** The value for the 2-octet My AS field of a speaker whose AS is `asn` (RFC 6793 §4.1). */
export function myAsField(asn: number): number {
  return asn > MAX_AS2 ? AS_TRANS : asn;
}

export function encodeOpen(m: Omit<OpenMessage, 'version'> & { version?: number }): Buffer {
  if (m.myAs > MAX_AS2 || m.holdTime > 0xffff || m.myAs < 0 || m.holdTime < 0) {
    throw new BgpEncodeError(`OPEN field out of range: myAs ${m.myAs}, hold ${m.holdTime}`);
  }
  const w = new Writer()
    .u8(m.version ?? BGP_VERSION)
    .u16(m.myAs)
    .u16(m.holdTime)
    .bytes(ipv4ToBytes(m.bgpId));
  // All capabilities in as few parameters as fit (one in practice), as FRR and BIRD send them.
  const params = new Writer();
  let current: Buffer[] = [];
  let size = 0;
  const flush = (): void => {
    if (current.length === 0) return;
    params.u8(OPT_PARAM_CAPABILITIES).u8(size);
    for (const c of current) params.bytes(c);
    current = [];
    size = 0;
  };
  for (const cap of m.capabilities) {
    const tlv = encodeCapability(cap);
    if (tlv.length > MAX_PARAM_LEN) throw new BgpEncodeError(`capability ${cap.kind} too long`);
    if (size + tlv.length > MAX_PARAM_LEN) flush();
    current.push(tlv);
    size += tlv.length;
  }
  flush();
  const p = params.finish();
  if (p.length > MAX_PARAM_LEN) throw new BgpEncodeError('OPEN optional parameters exceed 255 octets');
  w.u8(p.length).bytes(p);
  return frame(MessageType.OPEN, w.finish());
}
