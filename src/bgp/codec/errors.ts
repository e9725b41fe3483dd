// The codec's one error type. It carries what the receiver must do about it: the NOTIFICATION
// {code, subcode, data} of RFC 4271 §6 and the RFC 7606 outcome ('session-reset' means send that
// NOTIFICATION and close; the others keep the session up), plus a kebab-case reason for logs and counters.

import { AnycastdError } from '../../errors.js';

/** RFC 7606 §2 error-handling approaches, from the most to the least severe. */
export type Rfc7606Action = 'session-reset' | 'treat-as-withdraw' | 'attribute-discard';

const SEVERITY: Record<Rfc7606Action, number> = {
  'session-reset': 3,
  'treat-as-withdraw': 2,
  'attribute-discard': 1,
};

/** The more severe of two actions (RFC 7606 §3: the strongest approach wins). */
export function worse(a: Rfc7606Action, b: Rfc7606Action): Rfc7606Action {
  return SEVERITY[a] >= SEVERITY[b] ? a : b;
}

export interface BgpErrorInit {
  /** NOTIFICATION error code (RFC 4271 §4.5). */
  notifyCode: number;
  notifySubcode: number;
  /** NOTIFICATION data field. */
  data?: Buffer;
  action?: Rfc7606Action;
  /** kebab-case reason, stable for counters: 'attribute-length-origin', 'bad-marker'... */
  reason: string;
}

export class BgpCodecError extends AnycastdError {
  readonly notifyCode: number;
  readonly notifySubcode: number;
  readonly data: Buffer;
  readonly action: Rfc7606Action;
  readonly reason: string;
  constructor(init: BgpErrorInit) {
    super('ERR_BGP_MESSAGE', `bgp message error ${init.notifyCode}/${init.notifySubcode}: ${init.reason}`);
    this.notifyCode = init.notifyCode;
    this.notifySubcode = init.notifySubcode;
    this.data = init.data ?? Buffer.alloc(0);
    this.action = init.action ?? 'session-reset';
    this.reason = init.reason;
  }
}

/** Shorthand for a session-reset error. */
export function fatal(
  notifyCode: number,
  notifySubcode: number,
  reason: string,
  data?: Buffer,
): BgpCodecError {
  return new BgpCodecError({ notifyCode, notifySubcode, reason, data, action: 'session-reset' });
}

/** An encoder was given a value it cannot put on the wire. */
export class BgpEncodeError extends AnycastdError {
  constructor(message: string) {
    super('ERR_BGP_ENCODE', message);
  }
}
