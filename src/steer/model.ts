// The TypeScript model of bpf/steer.bpf.c's decision — parse, VIP, flow table or Maglev ring, then
// pass, encapsulate, decapsulate or answer "too big" — over the same state the program's maps hold.
// It is the oracle of the tests: same frame + same state ⇒ same verdict, same bytes, same flow entry.
import { hashWords } from './hash.js';
import {
  encodeFlowKey,
  FAMILY_V4,
  INSTANCE_F_LOCAL,
  INSTANCE_F_VALID,
  INSTANCE_NONE,
  type Instance,
  MAX_INSTANCES,
  RING_KIND_NEW,
  RING_SIZE_MAX,
  RING_SLOTS,
  VIP_F_FRAG,
  VIP_F_USED,
  type VipEntry,
} from './layout.js';
import { newPkt, type Pkt, parseIp, parseL2, parseL4 } from './parse.js';
import * as P from './proto.js';
import * as R from './rewrite.js';

/** Load-time tunables (the program's rodata). */
export interface SteerConfig {
  ringSize: number;
  hashSeed: number;
  mtu: number;
  host4: Buffer; // 4 bytes, zero = none
  host6: Buffer; // 16 bytes, zero = none
}

/** What the maps hold, as the control side wrote it. */
export interface SteerState {
  config: SteerConfig;
  vips: VipEntry[];
  services: Map<number, readonly number[]>; // service id → active slot per ring kind
  rings: Map<number, Uint32Array>; // service * RING_SLOTS + slot → instance slots (ringSize long)
  instances: Map<number, Instance>;
  flows: Map<string, number>; // hex(flow_key) → instance slot
}

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

/** The ring entry the program reads for a flow-table miss. */
function ringSlot(s: SteerState, serviceId: number, hash: number): number {
  const active = s.services.get(serviceId)?.[RING_KIND_NEW] ?? 0;
  const ring = s.rings.get(serviceId * RING_SLOTS + (active & (RING_SLOTS - 1)));
  const idx = hash % s.config.ringSize;
  if (idx >= RING_SIZE_MAX) return INSTANCE_NONE;
  if (!ring) return 0; // an array map entry never written is all zeros
  return ring[idx] ?? INSTANCE_NONE;
}

function validInstance(s: SteerState, slot: number): Instance | undefined {
  const inst = slot < MAX_INSTANCES ? s.instances.get(slot) : undefined;
  return inst && inst.flags & INSTANCE_F_VALID ? inst : undefined;
}

/** Runs one frame through the model; `s.flows` is updated as the program updates its flow table. */
export function decide(s: SteerState, frame: Buffer): Decision {
  const p = newPkt();
  const pass = (outcome: Outcome): Decision => ({ verdict: P.XDP_PASS, outcome, data: frame });
  let rc = parseL2(frame, p);
  if (rc === 'ok') rc = parseIp(frame, p);
  if (rc === 'ok') rc = enterTunnel(s.config, frame, p);
  if (rc === 'ok') rc = parseL4(frame, p);
  if (rc === 'fail') return pass('parse-fail');
  if (rc === 'skip') return pass('not-ip');
  const vip = matchVip(s.vips, p);
  if (!vip) return pass('non-vip');
  if (p.outerLen) return { verdict: P.XDP_PASS, outcome: 'decap', data: R.decap(frame, p), vipId: vip.vipId };
  return { ...steerFlow(s, frame, p, vip), vipId: vip.vipId };
}

function enterTunnel(c: SteerConfig, f: Buffer, p: Pkt): 'ok' | 'skip' | 'fail' {
  if (p.frag) return 'ok';
  const v4 = p.key.family === FAMILY_V4;
  const mine = v4
    ? p.key.proto === P.IPPROTO_IPIP && sameBytes(p.key.dst.subarray(0, 4), c.host4)
    : p.key.proto === P.IPPROTO_IPV6 && sameBytes(p.key.dst, c.host6);
  if (!mine) return 'ok';
  p.outerLen = p.ipHlen;
  p.l3Off += p.ipHlen;
  return parseIp(f, p);
}

function steerFlow(s: SteerState, f: Buffer, p: Pkt, vip: VipEntry): Decision {
  const keyBytes = encodeFlowKey(p.key);
  const hash = hashWords(keyBytes, s.config.hashSeed);
  const keyHex = keyBytes.toString('hex');
  const drop = (outcome: Outcome): Decision => ({ verdict: P.XDP_DROP, outcome, data: f });
  const known = s.flows.get(keyHex);
  let slot = known ?? 0;
  let inst = known === undefined ? undefined : validInstance(s, known);
  const flowHit = inst !== undefined;
  let recorded = false;
  if (!inst) {
    slot = ringSlot(s, vip.serviceId, hash);
    inst = validInstance(s, slot);
    if (!inst) return { ...drop('drop-no-instance'), flowHit };
    if (!p.rst && !p.icmpErr) {
      s.flows.set(keyHex, slot);
      recorded = true;
    }
  }
  const base = { instance: slot, flowHit, recorded };
  if (inst.flags & INSTANCE_F_LOCAL) return { ...base, verdict: P.XDP_PASS, outcome: 'local', data: f };
  const c = s.config;
  const v4 = p.key.family === FAMILY_V4;
  if (v4 ? isZero(c.host4) || isZero(inst.host4) : isZero(c.host6) || isZero(inst.host6))
    return { ...base, ...drop('drop-no-address') };
  if (p.l3Len + (v4 ? P.IPV4_HLEN : P.IPV6_HLEN) > c.mtu) {
    if (p.icmpErr) return { ...base, ...drop('drop-icmp-too-big') };
    const data = v4 ? R.tooBig4(f, p, c.mtu) : R.tooBig6(f, p, c.mtu);
    return { ...base, verdict: P.XDP_TX, outcome: 'too-big', data };
  }
  const data = v4 ? R.encap4(f, p, c.host4, inst.host4) : R.encap6(f, p, c.host6, inst.host6, hash);
  return { ...base, verdict: P.XDP_TX, outcome: 'forward', data };
}
