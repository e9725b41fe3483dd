// ROUTE-REFRESH message (RFC 2918 §3): AFI, a reserved octet (the subtype of RFC 7313 enhanced route
// refresh: 0 normal, 1 BoRR, 2 EoRR), SAFI. Any other length is RFC 7313's "Invalid Message Length".

import { Reader, Writer } from './buffer.js';
import { ErrorCode, HEADER_LENGTH, MessageType, RouteRefreshSubcode } from './constants.js';
import { fatal } from './errors.js';
import { frame } from './header.js';

export interface RouteRefreshMessage {
  afi: number;
  safi: number;
  /** 0 = normal request, 1 = begin of route refresh, 2 = end of route refresh (RFC 7313). */
  subtype: number;
}

const BODY_LENGTH = 4;

export function decodeRouteRefresh(msg: Buffer): RouteRefreshMessage {
  if (msg.length !== HEADER_LENGTH + BODY_LENGTH) {
    throw fatal(ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode.INVALID_LENGTH, 'route-refresh-bad-length', msg);
  }
  const r = new Reader(
    msg,
    () => fatal(ErrorCode.ROUTE_REFRESH, RouteRefreshSubcode.INVALID_LENGTH, 'route-refresh-truncated'),
    HEADER_LENGTH,
  );
  const afi = r.u16();
  const subtype = r.u8();
  return { afi, safi: r.u8(), subtype };
}

export function encodeRouteRefresh(m: { afi: number; safi: number; subtype?: number }): Buffer {
  return frame(
    MessageType.ROUTE_REFRESH,
    new Writer()
      .u16(m.afi)
      .u8(m.subtype ?? 0)
      .u8(m.safi)
      .finish(),
  );
}
