// A passive sign for a service that answers errors: HTTP/1.x responses with a 5xx status sent from a
// watched local port, seen by a packet tap (src/native/tap.ts) whose classic BPF filter matches, in
// the kernel, an outgoing IPv4/IPv6 TCP segment from one of the ports whose payload starts with
// "HTTP/1." and has '5' as the status's first digit. Only those segments reach this process (cut to
// their headers); nothing else is copied. Like every stall sign it only makes the checks probe at their
// fast interval now: the check's own results decide (a healthy service that answers an occasional 500
// gets a window of fast probes, which pass). Limits: cleartext HTTP/1.x only (not TLS, not HTTP/2); a
// status line that does not start its segment (pipelined after another response) is not seen.
import { type BpfInsn, PacketTap } from '../native/tap.js';

/** linux/filter.h, classic BPF opcodes. */
const LD = 0x00;
const LDX = 0x01;
const ALU = 0x04;
const JMP = 0x05;
const RET = 0x06;
const MISC = 0x07;
const W = 0x00;
const H = 0x08;
const B = 0x10;
const IMM = 0x00;
const ABS = 0x20;
const IND = 0x40;
const MSH = 0xa0;
const ADD = 0x00;
const LSH = 0x60;
const RSH = 0x70;
const X = 0x08;
const JA = 0x00;
const JEQ = 0x10;
const JSET = 0x40;
const TAX = 0x00;
/** Ancillary loads: skb->pkt_type and skb->protocol (host order). */
const SKF_AD_OFF = -0x1000;
const SKF_AD_PROTOCOL = 0;
const SKF_AD_PKTTYPE = 4;
const PACKET_OUTGOING = 4;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPV4_FRAGMENT_MASK = 0x1fff;
const IPV6_HEADER_BYTES = 40;
/** "HTTP", "/1", '5' as the filter compares them (network order words). */
const HTTP_WORD = 0x48545450;
const SLASH_ONE = 0x2f31;
const DIGIT_FIVE = 0x35;
/** Offset of the status's first digit in "HTTP/1.1 503 …". */
const STATUS_OFFSET = 9;
const STATUS_DIGITS = 3;
/** Bytes kept per match: IP and TCP headers at their longest (60 + 60) and the status line's start. */
const SNAP_BYTES = 136;
/** Matches read per poll at most (the rest is dropped or read at the next poll). */
const MAX_PER_POLL = 256;
/** Ports one filter tests at most (each test's jump to the status check must fit in 8 bits). */
export const MAX_TAPPED_PORTS = 200;

type Step = Omit<BpfInsn, 'jt' | 'jf'> & { label?: string; jt?: string; jf?: string; ja?: string };

/** Resolves the labels of `steps` into relative jumps (each must fit in 8 bits: the program is short). */
function assemble(steps: Step[]): BpfInsn[] {
  const at = new Map<string, number>();
  steps.forEach((s, i) => {
    if (s.label) at.set(s.label, i);
  });
  const rel = (from: number, label: string | undefined): number => {
    if (label === undefined) return 0;
    const to = at.get(label);
    if (to === undefined || to <= from) throw new Error(`bad jump to ${label}`);
    return to - from - 1;
  };
  return steps.map((s, i) => ({
    code: s.code,
    jt: rel(i, s.jt),
    jf: rel(i, s.jf),
    k: s.ja ? rel(i, s.ja) : s.k,
  }));
}

/** The filter: outgoing HTTP/1.x 5xx responses from any of `ports` (at least one). */
export function http5xxFilter(ports: readonly number[]): BpfInsn[] {
  if (ports.length === 0 || ports.length > MAX_TAPPED_PORTS)
    throw new RangeError(`http5xxFilter: 1..${MAX_TAPPED_PORTS} ports, not ${ports.length}`);
  const portTests: Step[] = ports.map((p, i) => ({
    code: JMP | JEQ | 0,
    k: p,
    jt: 'status',
    jf: i === ports.length - 1 ? 'drop' : `port${i + 1}`,
    label: `port${i}`,
  }));
  return assemble([
    { code: LD | W | ABS, k: SKF_AD_OFF + SKF_AD_PKTTYPE },
    { code: JMP | JEQ, k: PACKET_OUTGOING, jt: 'proto', jf: 'drop' },
    { code: LD | W | ABS, k: SKF_AD_OFF + SKF_AD_PROTOCOL, label: 'proto' },
    { code: JMP | JEQ, k: ETH_P_IP, jt: 'v4', jf: 'not4' },
    { code: JMP | JEQ, k: ETH_P_IPV6, jt: 'v6', jf: 'drop', label: 'not4' },
    { code: LD | B | ABS, k: 9, label: 'v4' },
    { code: JMP | JEQ, k: IPPROTO_TCP, jt: 'frag', jf: 'drop' },
    { code: LD | H | ABS, k: 6, label: 'frag' },
    { code: JMP | JSET, k: IPV4_FRAGMENT_MASK, jt: 'drop', jf: 'ihl' },
    { code: LDX | B | MSH, k: 0, label: 'ihl' },
    { code: JMP | JA, k: 0, ja: 'tcp' },
    { code: LD | B | ABS, k: 6, label: 'v6' },
    { code: JMP | JEQ, k: IPPROTO_TCP, jt: 'v6len', jf: 'drop' },
    { code: LDX | W | IMM, k: IPV6_HEADER_BYTES, label: 'v6len' },
    { code: LD | H | IND, k: 0, label: 'tcp' },
    ...portTests,
    { code: LD | B | IND, k: 12, label: 'status' },
    { code: ALU | RSH, k: 4 },
    { code: ALU | LSH, k: 2 },
    { code: ALU | ADD | X, k: 0 },
    { code: MISC | TAX, k: 0 },
    { code: LD | W | IND, k: 0 },
    { code: JMP | JEQ, k: HTTP_WORD, jt: 'slash', jf: 'drop' },
    { code: LD | H | IND, k: 4, label: 'slash' },
    { code: JMP | JEQ, k: SLASH_ONE, jt: 'digit', jf: 'drop' },
    { code: LD | B | IND, k: STATUS_OFFSET, label: 'digit' },
    { code: JMP | JEQ, k: DIGIT_FIVE, jt: 'keep', jf: 'drop' },
    { code: RET, k: SNAP_BYTES, label: 'keep' },
    { code: RET, k: 0, label: 'drop' },
  ]);
}

/** One matched segment: its source port and status ("5xx" when cut before the digits). */
export interface ErrorAnswer {
  port: number;
  status: string;
}

/** Reads a matched segment (network header first); null when it is not one the filter would keep. */
export function parseAnswer(p: Buffer): ErrorAnswer | null {
  if (p.length < 1) return null;
  const version = p[0]! >> 4;
  const ip = version === 4 ? (p[0]! & 0xf) * 4 : version === 6 ? IPV6_HEADER_BYTES : 0;
  if (ip === 0 || p.length < ip + 13) return null;
  const port = p.readUInt16BE(ip);
  const payload = ip + (p[ip + 12]! >> 4) * 4;
  const digits = p
    .subarray(payload + STATUS_OFFSET, payload + STATUS_OFFSET + STATUS_DIGITS)
    .toString('latin1');
  return { port, status: /^5\d\d$/.test(digits) ? digits : '5xx' };
}

/** Counts of 5xx answers per watched port since the last read. */
export type ErrorAnswerSource = (ports: readonly number[]) => Map<number, { count: number; last: string }>;

/**
 * A tap on the current (or given) network namespace for 5xx answers from the ports asked for at each
 * read; the filter is rebuilt when the set of ports changes. Null when the tap cannot be opened (no
 * addon, no CAP_NET_RAW): there is then no error sign.
 */
export function httpErrorTap(netns?: string): { read: ErrorAnswerSource; close(): void } | null {
  let tap: PacketTap | null = null;
  let key = '';
  const open = (ports: readonly number[]): PacketTap | null => {
    const filter = http5xxFilter(ports);
    if (tap) tap.setFilter(filter);
    else tap = PacketTap.open({ filter, ...(netns ? { netns } : {}) });
    return tap;
  };
  try {
    // Opened at once so a missing capability is known now, with a filter that matches nothing
    // until ports are asked for (port 0 is never a source port).
    open([0]);
    key = '0';
  } catch {
    return null;
  }
  return {
    read: (ports) => {
      const out = new Map<number, { count: number; last: string }>();
      const want = [...new Set(ports)].sort((a, b) => a - b).slice(0, MAX_TAPPED_PORTS);
      const k = want.join(',');
      if (k !== key && want.length > 0) {
        open(want);
        key = k;
      }
      if (!tap || want.length === 0) return out;
      for (const p of tap.drain(MAX_PER_POLL)) {
        const a = parseAnswer(p);
        if (!a || !want.includes(a.port)) continue;
        const seen = out.get(a.port) ?? { count: 0, last: a.status };
        out.set(a.port, { count: seen.count + 1, last: a.status });
      }
      return out;
    },
    close: () => tap?.close(),
  };
}
