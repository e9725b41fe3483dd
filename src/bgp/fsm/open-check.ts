// OPEN validation and hold-time negotiation (RFC 4271 §6.2 and §4.2, RFC 6793 §4.1 for the peer's
// real AS, RFC 6286 for the identifier, RFC 5492 for required capabilities). Returns either the
// negotiated parameters or the NOTIFICATION to send with a kebab-case reason.

import { capabilityCode, findCapability } from '../codec/capabilities.js';
import { BGP_VERSION, ErrorCode, OpenSubcode } from '../codec/constants.js';
import type { OpenMessage } from '../codec/open.js';
import type { FsmConfig, Negotiated } from './types.js';

export type OpenVerdict =
  | { ok: true; negotiated: Negotiated }
  | { ok: false; code: number; subcode: number; data: Buffer; reason: string };

export const DEFAULT_HOLD_TIME = 90;
/** §4.2: a non-zero hold time must be at least 3 seconds. */
const MIN_HOLD_TIME = 3;
const KEEPALIVE_FRACTION = 3;
const ZERO_ID = '0.0.0.0';

function reject(subcode: number, reason: string, data = Buffer.alloc(0)): OpenVerdict {
  return { ok: false, code: ErrorCode.OPEN_MESSAGE, subcode, data, reason };
}

export function checkOpen(open: OpenMessage, cfg: FsmConfig): OpenVerdict {
  if (open.version !== BGP_VERSION) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(BGP_VERSION); // the largest version we support
    return reject(OpenSubcode.UNSUPPORTED_VERSION, 'unsupported-version', data);
  }
  const as4Cap = findCapability(open.capabilities, 'four-octet-as');
  const peerAs = as4Cap ? as4Cap.asn : open.myAs;
  if (cfg.peerAs !== undefined && peerAs !== cfg.peerAs) {
    const data = Buffer.alloc(2);
    data.writeUInt16BE(open.myAs);
    return reject(OpenSubcode.BAD_PEER_AS, 'bad-peer-as', data);
  }
  const ibgp = peerAs === cfg.localAs;
  if (open.bgpId === ZERO_ID || (ibgp && open.bgpId === cfg.localId)) {
    return reject(OpenSubcode.BAD_BGP_IDENTIFIER, 'bad-bgp-identifier');
  }
  if (open.holdTime > 0 && open.holdTime < MIN_HOLD_TIME) {
    return reject(OpenSubcode.UNACCEPTABLE_HOLD_TIME, 'unacceptable-hold-time');
  }
  const missing = (cfg.requiredCapabilities ?? []).filter((code) => !hasCode(open, code));
  if (missing.length > 0) {
    // RFC 5492 §3: the data lists the capabilities that caused the error.
    return reject(
      OpenSubcode.UNSUPPORTED_CAPABILITY,
      'unsupported-capability',
      Buffer.from(missing.flatMap((c) => [c, 0])),
    );
  }
  const holdTime = Math.min(cfg.holdTime ?? DEFAULT_HOLD_TIME, open.holdTime);
  const third = Math.floor(holdTime / KEEPALIVE_FRACTION);
  const keepaliveTime = holdTime === 0 ? 0 : Math.max(1, Math.min(cfg.keepaliveTime ?? third, third));
  return {
    ok: true,
    negotiated: {
      holdTime,
      keepaliveTime,
      peerAs,
      peerId: open.bgpId,
      as4: (cfg.as4 ?? true) && as4Cap !== undefined,
      peerOpen: open,
    },
  };
}

function hasCode(open: OpenMessage, code: number): boolean {
  return open.capabilities.some((c) => capabilityCode(c) === code);
}
