// The BFD control packet (RFC 5880 §4.1, §4.2): a pure, total codec on buffers. decodeControl()
// never throws: any buffer gives either a packet or the named reason it is dropped (the checks of
// RFC 5880 §6.8.6 that need no session: version, length, detect multiplier, multipoint bit, my
// discriminator, and an authentication section this implementation does not verify — packets with the
// A bit set are dropped, so a peer configured for authentication never brings a session up).

/** RFC 5880 §4.1: protocol version 1. */
export const BFD_VERSION = 1;
/** Length of a control packet without an authentication section. */
export const CONTROL_LEN = 24;
/** RFC 5880 §6.8.6: with the A bit, at least the mandatory part plus a 2-byte auth header. */
const MIN_AUTH_CONTROL_LEN = 26;
const VERSION_SHIFT = 5;
const DIAG_MASK = 0x1f;
const STATE_SHIFT = 6;
const FLAG_POLL = 0x20;
const FLAG_FINAL = 0x10;
const FLAG_CPI = 0x08;
const FLAG_AUTH = 0x04;
const FLAG_DEMAND = 0x02;
const FLAG_MULTIPOINT = 0x01;
const MAX_U8 = 0xff;
const MAX_U32 = 0xffff_ffff;

/** RFC 5880 §4.1 session states, as on the wire. */
export const BfdState = { adminDown: 0, down: 1, init: 2, up: 3 } as const;
export type BfdStateCode = (typeof BfdState)[keyof typeof BfdState];
export type BfdStateName = 'admin-down' | 'down' | 'init' | 'up';
export const STATE_NAMES: readonly BfdStateName[] = ['admin-down', 'down', 'init', 'up'];

/** RFC 5880 §4.1 diagnostic codes. */
export const BfdDiag = {
  none: 0,
  detectionTimeExpired: 1,
  echoFailed: 2,
  neighborDown: 3,
  forwardingReset: 4,
  pathDown: 5,
  concatenatedPathDown: 6,
  adminDown: 7,
  reverseConcatenatedPathDown: 8,
} as const;
const DIAG_NAMES = [
  'none',
  'control-detection-time-expired',
  'echo-function-failed',
  'neighbor-signaled-session-down',
  'forwarding-plane-reset',
  'path-down',
  'concatenated-path-down',
  'administratively-down',
  'reverse-concatenated-path-down',
];

export function diagName(diag: number): string {
  return DIAG_NAMES[diag] ?? `diag-${diag}`;
}

export interface ControlPacket {
  version: number;
  diag: number;
  state: BfdStateCode;
  poll: boolean;
  final: boolean;
  cpi: boolean;
  auth: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Microseconds, as on the wire. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
}

/** Why a received packet was dropped before it reached a session (metrics label values). */
export const CODEC_DROP_REASONS = [
  'short',
  'version',
  'length',
  'detect-mult-zero',
  'multipoint',
  'my-discriminator-zero',
  'auth-unsupported',
] as const;
export type CodecDropReason = (typeof CODEC_DROP_REASONS)[number];

export type DecodeResult = { ok: true; packet: ControlPacket } | { ok: false; reason: CodecDropReason };

/** Decodes one received datagram (RFC 5880 §6.8.6, the checks before a session is selected). */
export function decodeControl(buf: Buffer): DecodeResult {
  if (buf.length < CONTROL_LEN) return { ok: false, reason: 'short' };
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  const version = b0 >> VERSION_SHIFT;
  if (version !== BFD_VERSION) return { ok: false, reason: 'version' };
  const auth = (b1 & FLAG_AUTH) !== 0;
  const length = buf[3]!;
  if (length < (auth ? MIN_AUTH_CONTROL_LEN : CONTROL_LEN) || length > buf.length)
    return { ok: false, reason: 'length' };
  const detectMult = buf[2]!;
  if (detectMult === 0) return { ok: false, reason: 'detect-mult-zero' };
  if ((b1 & FLAG_MULTIPOINT) !== 0) return { ok: false, reason: 'multipoint' };
  const myDiscriminator = buf.readUInt32BE(4);
  if (myDiscriminator === 0) return { ok: false, reason: 'my-discriminator-zero' };
  if (auth) return { ok: false, reason: 'auth-unsupported' };
  return {
    ok: true,
    packet: {
      version,
      diag: b0 & DIAG_MASK,
      state: (b1 >> STATE_SHIFT) as BfdStateCode,
      poll: (b1 & FLAG_POLL) !== 0,
      final: (b1 & FLAG_FINAL) !== 0,
      cpi: (b1 & FLAG_CPI) !== 0,
      auth,
      demand: (b1 & FLAG_DEMAND) !== 0,
      multipoint: false,
      detectMult,
      myDiscriminator,
      yourDiscriminator: buf.readUInt32BE(8),
      desiredMinTxUs: buf.readUInt32BE(12),
      requiredMinRxUs: buf.readUInt32BE(16),
      requiredMinEchoRxUs: buf.readUInt32BE(20),
    },
  };
}

export interface ControlFields {
  diag: number;
  state: BfdStateCode;
  poll?: boolean;
  final?: boolean;
  /** Control plane independent (RFC 5880 §4.1): false — BFD runs in this process. */
  cpi?: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs?: number;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new RangeError(`BFD ${name} out of range: ${value}`);
}

/** Encodes a control packet without authentication (24 bytes). Throws RangeError on a field out of range. */
export function encodeControl(f: ControlFields): Buffer {
  checkField('diag', f.diag, DIAG_MASK);
  checkField('detect multiplier', f.detectMult, MAX_U8);
  for (const [name, v] of [
    ['my discriminator', f.myDiscriminator],
    ['your discriminator', f.yourDiscriminator],
    ['desired min tx', f.desiredMinTxUs],
    ['required min rx', f.requiredMinRxUs],
    ['required min echo rx', f.requiredMinEchoRxUs ?? 0],
  ] as const)
    checkField(name, v, MAX_U32);
  const buf = Buffer.alloc(CONTROL_LEN);
  buf[0] = (BFD_VERSION << VERSION_SHIFT) | f.diag;
  buf[1] =
    (f.state << STATE_SHIFT) | (f.poll ? FLAG_POLL : 0) | (f.final ? FLAG_FINAL : 0) | (f.cpi ? FLAG_CPI : 0);
  buf[2] = f.detectMult;
  buf[3] = CONTROL_LEN;
  buf.writeUInt32BE(f.myDiscriminator, 4);
  buf.writeUInt32BE(f.yourDiscriminator, 8);
  buf.writeUInt32BE(f.desiredMinTxUs, 12);
  buf.writeUInt32BE(f.requiredMinRxUs, 16);
  buf.writeUInt32BE(f.requiredMinEchoRxUs ?? 0, 20);
  return buf;
}
