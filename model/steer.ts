// The TypeScript model of bpf/steer.bpf.c's decision — parse, VIP, flow table or Maglev ring, then
// pass, encapsulate, decapsulate or answer "too big" — over the same state the program's maps hold.
// It is the oracle of the tests and the benches: same frame + same state ⇒ same verdict, same bytes,
// same flow entry. It stands outside the product (src/ never imports it); the state it reads is the
// contract's (SteerState of src/steer/layout.ts), plus the sockets the kernel holds.
import { hashWords } from '../src/steer/hash.js';
import {
  encodeFlowKey,
  FAMILY_V4,
  FLOW_SEQ_SHIFT,
  INSTANCE_F_LOCAL,
  INSTANCE_F_VALID,
  INSTANCE_NONE,
  type Instance,
  MAX_INSTANCES,
  RING_KIND_ESTABLISHED,
  RING_KIND_NEW,
  RING_SIZE_MAX,
  RING_SLOTS,
  SECOND_CHANCE_ID4,
  SECOND_CHANCE_LABEL6,
  type SteerConfig,
  type SteerState,
  VIP_F_FRAG,
  VIP_F_USED,
  type VipEntry,
} from '../src/steer/layout.js';
import * as P from '../src/steer/proto.js';
import { newPkt, type Pkt, parseIp, parseL2, parseL4 } from './parse.js';
import * as R from './rewrite.js';

/** What the program sees besides its maps: the connections this host's kernel holds. */
export interface ModelState extends SteerState {
  /** hex(flow_key) → the connections this host's kernel holds (what bpf_skc_lookup_tcp finds; not
   * listeners): the receive window of an established or time-wait one, null for a request socket (no
   * window: any sequence number fits). Absent = none. */
  sockets?: ReadonlyMap<string, SocketWindow | null>;
}

/** The receive window of an established socket (struct tcp_sock rcv_nxt, rcv_wnd). */
export interface SocketWindow {
  rcvNxt: number;
  rcvWnd: number;
}

/** rings.h SEQ_SLACK, SEQ_WINDOW_MAX. */
const SEQ_SLACK = 2 ** 20;
const SEQ_WINDOW_MAX = 2 ** 28;

/** seq_fits of rings.h: within SEQ_SLACK of the receive window, either side. */
export function seqFits(seq: number, w: SocketWindow): boolean {
  const wnd = Math.min(w.rcvWnd, SEQ_WINDOW_MAX);
  return (seq - w.rcvNxt + wnd + SEQ_SLACK) >>> 0 <= 2 * (wnd + SEQ_SLACK);
}

/** The outcome of a second-chance socket check (one vip_stats counter each). */
export type SecondChance = 'forwarded' | 'used' | 'socket' | 'none';

export type Outcome =
  | 'not-ip'
  | 'parse-fail'
  | 'non-vip'
  | 'decap'
  | 'local'
  | 'forward'
  | 'too-big'
  | 'drop-no-instance'
  | 'drop-no-address'
  | 'drop-icmp-too-big';

export interface Decision {
  verdict: number; // XDP_*
  outcome: Outcome;
  data: Buffer; // the frame the program leaves
  instance?: number; // the chosen instance slot
  flowHit?: boolean;
  recorded?: boolean; // a flow entry was written
  vipId?: number;
  ringKind?: number; // the ring a miss looked up (RING_KIND_*)
  secondChance?: SecondChance; // a socket check ran, with this outcome
  staleSocket?: boolean; // that check found an older connection's socket (sequence outside its window)
  staleFlow?: boolean; // a hit whose entry was not trusted (far sequence number): re-steered as a miss
}

/** steer_core.h HIT_SEQ_NEAR, in 256-byte units of FLOW_SEQ_SHIFT. */
const HIT_SEQ_NEAR = 2 ** 14;
const SEQ_UNITS = 2 ** (32 - FLOW_SEQ_SHIFT);

/** with_seq of steer_core.h: the entry keeps the packet's sequence number (>> 8). */
function rememberSeq(s: ModelState, keyHex: string, seq: number): void {
  s.flowSeqs ??= new Map();
  s.flowSeqs.set(keyHex, seq >>> FLOW_SEQ_SHIFT);
}

/** seq_near of steer_core.h: within HIT_SEQ_NEAR units of an entry's packed sequence number. */
function seqNear(seq: number, stored: number): boolean {
  const d = ((seq >>> FLOW_SEQ_SHIFT) - stored + SEQ_UNITS) % SEQ_UNITS;
  return d <= HIT_SEQ_NEAR || d >= SEQ_UNITS - HIT_SEQ_NEAR;
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;
const isZero = (a: Uint8Array): boolean => a.every((x) => x === 0);

/** vip_match of steer.bpf.c. */
export function matchVip(vips: readonly VipEntry[], p: Pkt): VipEntry | undefined {
  const find = (port: number, reject: number): VipEntry | undefined =>
    vips.find(
      (e) =>
        e.flags & VIP_F_USED &&
        !(e.flags & reject) &&
        e.key.port === port &&
        e.key.proto === p.key.proto &&
        e.key.family === p.key.family &&
        sameBytes(e.key.addr, p.key.dst),
    );
  if (p.frag) return find(0, 0);
  return find(p.key.dport, VIP_F_FRAG) ?? find(0, VIP_F_FRAG);
}

/** Whether the service's established ring was written (its active slot is 2 or 3). */
function hasEstablished(s: ModelState, serviceId: number): boolean {
  const active = s.services.get(serviceId)?.[RING_KIND_ESTABLISHED] ?? 0;
  return (active & (RING_SLOTS - 1)) >> 1 === RING_KIND_ESTABLISHED;
}

/** The ring entry the program reads at ring index `idx` of the live ring of `kind` (`previous`: of the
 * kind's other slot, the ring the live one replaced). */
function ringEntry(s: ModelState, serviceId: number, kind: number, idx: number, previous = false): number {
  const active = (s.services.get(serviceId)?.[kind] ?? 0) ^ (previous ? 1 : 0);
  const ring = s.rings.get(serviceId * RING_SLOTS + (active & (RING_SLOTS - 1)));
  if (idx >= RING_SIZE_MAX) return INSTANCE_NONE;
  if (!ring) return 0; // an array map entry never written is all zeros
  return ring[idx] ?? INSTANCE_NONE;
}

/** prev_owners of rings.h: the valid remote instance at idx of the previous established ring, else of
 * the previous new ring (each kind's other slot: what its live ring replaced at its last write). */
function prevOwner(s: ModelState, serviceId: number, idx: number) {
  return (
    remoteOwner(s, serviceId, RING_KIND_ESTABLISHED, idx, true) ??
    remoteOwner(s, serviceId, RING_KIND_NEW, idx, true)
  );
}

/** rings_agree of rings.h: the live and previous rings of both kinds name `slot` at idx (a previous
 * slot never written, INSTANCE_NONE, agrees). */
function ringsAgree(s: ModelState, serviceId: number, idx: number, slot: number): boolean {
  const prevAgrees = (kind: number): boolean => {
    const p = ringEntry(s, serviceId, kind, idx, true);
    return p === slot || p === INSTANCE_NONE;
  };
  return (
    ringEntry(s, serviceId, RING_KIND_NEW, idx) === slot &&
    ringEntry(s, serviceId, RING_KIND_ESTABLISHED, idx) === slot &&
    prevAgrees(RING_KIND_ESTABLISHED) &&
    prevAgrees(RING_KIND_NEW)
  );
}

/** sc_candidate of rings.h: non-SYN TCP, whole, not an ICMP error, in a two-ring service. */
function scCandidate(s: ModelState, p: Pkt, serviceId: number): boolean {
  return p.key.proto === P.IPPROTO_TCP && !p.syn && !p.frag && !p.icmpErr && hasEstablished(s, serviceId);
}

/** remote_owner of rings.h: the ring's valid instance at idx if it runs on another host. */
function remoteOwner(s: ModelState, serviceId: number, kind: number, idx: number, previous = false) {
  const slot = ringEntry(s, serviceId, kind, idx, previous);
  const inst = validInstance(s, slot);
  return inst && !(inst.flags & INSTANCE_F_LOCAL) ? { slot, inst } : undefined;
}

/** has_socket of rings.h: none, ours (the segment fits its window, or no window), or stale. */
function socketFor(s: ModelState, p: Pkt, keyHex: string): 'none' | 'ours' | 'stale' {
  const w = s.sockets?.get(keyHex);
  if (w === undefined) return 'none';
  return w === null || seqFits(p.seq, w) ? 'ours' : 'stale';
}

/** second_chance of rings.h: its outcome, and whether the socket it found was an older connection's. */
function secondChance(s: ModelState, p: Pkt, keyHex: string, alt: boolean): [SecondChance, boolean] {
  const sock = socketFor(s, p, keyHex);
  const stale = sock === 'stale';
  if (sock === 'ours') return ['socket', false];
  if (p.marked) return ['used', stale];
  return [alt ? 'forwarded' : 'none', stale];
}

function validInstance(s: ModelState, slot: number): Instance | undefined {
  const inst = slot < MAX_INSTANCES ? s.instances.get(slot) : undefined;
  return inst && inst.flags & INSTANCE_F_VALID ? inst : undefined;
}

/** Runs one frame through the model; `s.flows` is updated as the program updates its flow table. */
export function decide(s: ModelState, frame: Buffer): Decision {
  const p = newPkt();
  const pass = (outcome: Outcome): Decision => ({ verdict: P.XDP_PASS, outcome, data: frame });
  let rc = parseL2(frame, p);
  if (rc === 'ok') rc = parseIp(frame, p);
  if (rc === 'ok') rc = enterTunnel(s.config, frame, p);
  // vip_filter: a destination that is no VIP's address ends here (the program's filter has false
  // positives, which then take the rest of the path and end the same way, bar the counters)
  if (rc === 'ok' && !s.vips.some((e) => e.flags & VIP_F_USED && sameBytes(e.key.addr, p.key.dst)))
    return pass('non-vip');
  if (rc === 'ok') rc = parseL4(frame, p);
  if (rc === 'fail') return pass('parse-fail');
  if (rc === 'skip') return pass('not-ip');
  const vip = matchVip(s.vips, p);
  if (!vip) return pass('non-vip');
  if (p.outerLen) return { ...steerDecap(s, frame, p, vip), vipId: vip.vipId };
  return { ...steerFlow(s, frame, p, vip), vipId: vip.vipId };
}

function enterTunnel(c: SteerConfig, f: Buffer, p: Pkt): 'ok' | 'skip' | 'fail' {
  if (p.frag) return 'ok';
  const v4 = p.key.family === FAMILY_V4;
  const mine = v4
    ? p.key.proto === P.IPPROTO_IPIP && sameBytes(p.key.dst.subarray(0, 4), c.host4)
    : p.key.proto === P.IPPROTO_IPV6 && sameBytes(p.key.dst, c.host6);
  if (!mine) return 'ok';
  const o = p.l3Off;
  p.marked = v4
    ? f.readUInt16BE(o + 4) === SECOND_CHANCE_ID4
    : (f.readUInt32BE(o) & SECOND_CHANCE_LABEL6) !== 0;
  p.outerLen = p.ipHlen;
  p.l3Off += p.ipHlen;
  return parseIp(f, p);
}

/** steer_decap: decapsulate and pass, or give a non-SYN TCP packet without a socket here its chance. */
function steerDecap(s: ModelState, f: Buffer, p: Pkt, vip: VipEntry): Decision {
  const inner = (): Buffer => R.decap(f, p);
  if (!scCandidate(s, p, vip.serviceId)) return { verdict: P.XDP_PASS, outcome: 'decap', data: inner() };
  const keyBytes = encodeFlowKey(p.key);
  const hash = hashWords(keyBytes, s.config.hashSeed);
  const idx = hash % s.config.ringSize;
  const alt =
    remoteOwner(s, vip.serviceId, RING_KIND_NEW, idx) ??
    remoteOwner(s, vip.serviceId, RING_KIND_ESTABLISHED, idx) ??
    prevOwner(s, vip.serviceId, idx);
  const [sc, staleSocket] = secondChance(s, p, keyBytes.toString('hex'), alt !== undefined);
  const checked = { secondChance: sc, ...(staleSocket ? { staleSocket } : {}) };
  if (sc !== 'forwarded' || !alt) return { verdict: P.XDP_PASS, outcome: 'decap', data: inner(), ...checked };
  const q: Pkt = { ...p, l3Off: p.l2Len, outerLen: 0, mark: true };
  return { ...deliver(s, inner(), q, alt.inst, hash), instance: alt.slot, ...checked };
}

function steerFlow(s: ModelState, f: Buffer, p: Pkt, vip: VipEntry): Decision {
  const keyBytes = encodeFlowKey(p.key);
  const hash = hashWords(keyBytes, s.config.hashSeed);
  const keyHex = keyBytes.toString('hex');
  const known = p.syn ? undefined : s.flows.get(keyHex); // a SYN follows the ring (steer_core.h)
  let slot = known ?? 0;
  let inst = known === undefined ? undefined : validInstance(s, known);
  let staleFlow = false;
  if (inst && scCandidate(s, p, vip.serviceId)) {
    // hit_holds: far from the entry's last sequence number, only a local entry with a fitting socket holds
    const stored = s.flowSeqs?.get(keyHex);
    const far = stored !== undefined && !seqNear(p.seq, stored);
    if (far && (!(inst.flags & INSTANCE_F_LOCAL) || socketFor(s, p, keyHex) !== 'ours')) {
      staleFlow = true;
      inst = undefined;
    } else rememberSeq(s, keyHex, p.seq);
  }
  const flowHit = inst !== undefined;
  let recorded = false;
  let ringKind: number | undefined;
  let sc: SecondChance | undefined;
  let staleSocket = false;
  if (!inst) {
    const idx = hash % s.config.ringSize;
    const two = hasEstablished(s, vip.serviceId);
    ringKind =
      two && p.key.proto === P.IPPROTO_TCP && !p.syn && !p.frag ? RING_KIND_ESTABLISHED : RING_KIND_NEW;
    slot = ringEntry(s, vip.serviceId, ringKind, idx);
    inst = validInstance(s, slot);
    if (!inst) return { verdict: P.XDP_DROP, outcome: 'drop-no-instance', data: f, flowHit, ringKind };
    if (
      ringKind === RING_KIND_ESTABLISHED &&
      inst.flags & INSTANCE_F_LOCAL &&
      scCandidate(s, p, vip.serviceId)
    ) {
      const alt = remoteOwner(s, vip.serviceId, RING_KIND_NEW, idx) ?? prevOwner(s, vip.serviceId, idx);
      [sc, staleSocket] = secondChance(s, p, keyHex, alt !== undefined);
      if (sc === 'forwarded' && alt) {
        slot = alt.slot;
        inst = alt.inst;
        p.mark = true;
      }
    }
    // a flow nobody can serve (no socket here, no other owner) is not recorded (steer_core.h)
    // an entry naming an instance marked failed is re-steered but kept (steer_core.h keep_entry)
    const keepEntry = known !== undefined && validInstance(s, known) === undefined;
    // a settled flow (record_settled 0: TCP of a two-ring service placed by its rings, which all agree)
    // is only cached by the program — the model has no cache: its next packet takes the rings again,
    // the same owner while they are unchanged (steer_core.h settled)
    const settled =
      s.config.recordSettled === false &&
      p.key.proto === P.IPPROTO_TCP &&
      !p.frag &&
      !p.icmpErr &&
      !p.mark &&
      two &&
      ringsAgree(s, vip.serviceId, idx, slot);
    if (!p.rst && !p.icmpErr && sc !== 'none' && !keepEntry && !settled) {
      s.flows.set(keyHex, slot);
      rememberSeq(s, keyHex, p.seq);
      recorded = true;
    }
  }
  const base = {
    instance: slot,
    flowHit,
    recorded,
    ringKind,
    secondChance: sc,
    ...(staleSocket ? { staleSocket } : {}),
    ...(staleFlow ? { staleFlow } : {}),
  };
  return { ...base, ...deliver(s, f, p, inst, hash) };
}

/** Pass locally, or encapsulate to the instance's host (or answer "too big", or drop). */
function deliver(s: ModelState, f: Buffer, p: Pkt, inst: Instance, hash: number): Decision {
  const drop = (outcome: Outcome): Decision => ({ verdict: P.XDP_DROP, outcome, data: f });
  if (inst.flags & INSTANCE_F_LOCAL) return { verdict: P.XDP_PASS, outcome: 'local', data: f };
  const c = s.config;
  const v4 = p.key.family === FAMILY_V4;
  if (v4 ? isZero(c.host4) || isZero(inst.host4) : isZero(c.host6) || isZero(inst.host6))
    return drop('drop-no-address');
  if (p.l3Len + (v4 ? P.IPV4_HLEN : P.IPV6_HLEN) > c.mtu) {
    if (p.icmpErr) return drop('drop-icmp-too-big');
    const data = v4 ? R.tooBig4(f, p, c.mtu) : R.tooBig6(f, p, c.mtu);
    return { verdict: P.XDP_TX, outcome: 'too-big', data };
  }
  const data = v4 ? R.encap4(f, p, c.host4, inst.host4) : R.encap6(f, p, c.host6, inst.host6, hash);
  return { verdict: P.XDP_TX, outcome: 'forward', data };
}
