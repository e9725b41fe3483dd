// Helpers for hand-written BGP byte vectors: hex text with `#` comments, and message builders that
// add the header so a vector lists only the body fields it is about.

import { Writer } from '../../../src/bgp/codec/buffer.js';
import type { MessageTypeCode } from '../../../src/bgp/codec/constants.js';
import { frame } from '../../../src/bgp/codec/header.js';

/** "ff ff  # marker" → bytes; whitespace and # comments are ignored. */
export function hex(text: string): Buffer {
  const clean = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex vector: ${clean}`);
  return Buffer.from(clean, 'hex');
}

export const MARKER = 'ffffffffffffffffffffffffffffffff';

/** An UPDATE with the given raw fields; lengths are computed. */
export function rawUpdate(f: { withdrawn?: string; attrs?: string; nlri?: string }): Buffer {
  const withdrawn = hex(f.withdrawn ?? '');
  const attrs = hex(f.attrs ?? '');
  const body = new Writer()
    .u16(withdrawn.length)
    .bytes(withdrawn)
    .u16(attrs.length)
    .bytes(attrs)
    .bytes(hex(f.nlri ?? ''))
    .finish();
  return frame(2 as MessageTypeCode, body);
}

/** The mandatory attributes for an IPv4 announcement: ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 192.0.2.1. */
export const BASE_ATTRS = '40 01 01 00   40 02 06 02 01 0000fde9   40 03 04 c0000201';
export const NLRI_V4 = '20 cb007107'; // 203.0.113.7/32
