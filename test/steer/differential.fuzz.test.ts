// Differential test: thousands of random frames — flows to VIPs over a 5-instance Maglev ring, repeats
// (flow hits), RSTs, fragments, VLANs, oversize packets, ICMP errors, tunnelled packets, non-VIPs —
// through the real program (BPF_PROG_TEST_RUN) and the TypeScript model over the same state: the
// same verdict, the same output bytes, and in the end the same flow table. Ring changes happen midway.
// ANYCASTD_FUZZ=long runs 50x more frames.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Dataplane, InstanceSpec } from '../../src/steer/dataplane.js';
import { decide, type SteerState } from '../../src/steer/model.js';
import * as P from '../../src/steer/proto.js';
import type { VipSpec } from '../../src/steer/vips.js';
import {
  type EthOpts,
  eth,
  type FlowSpec,
  flowFrame,
  icmp4,
  icmp6,
  ipPacket,
  ipv4,
  ipv6,
  tunnel,
  u32,
} from './packets.js';
import { HOST4, HOST6, LOCAL, openTestbed, VIPS } from './setup.js';

const FLOWS = process.env.ANYCASTD_FUZZ === 'long' ? 150_000 : 3_000;
const SVC = 4;
const MEMBERS: InstanceSpec[] = [
  LOCAL,
  ...[2, 3, 4, 5].map((i) => ({
    id: `h${i}/web`,
    host4: `198.51.100.${i}`,
    host6: `2001:db8:100::${i}`,
    local: false,
  })),
];
const DIFF_VIPS: VipSpec[] = [
  { vipId: 10, serviceId: SVC, addr: '192.0.2.20', proto: 'tcp', port: 443 },
  { vipId: 11, serviceId: SVC, addr: '192.0.2.20', proto: 'udp', port: 0 },
  { vipId: 12, serviceId: SVC, addr: '2001:db8::20', proto: 'tcp', port: 443 },
  { vipId: 13, serviceId: SVC, addr: '2001:db8::20', proto: 'udp', port: 0 },
];

/** mulberry32: a small seeded PRNG, so a failure can be replayed from the printed seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let dp: Dataplane;
before(() => {
  dp = openTestbed();
  dp.setServiceMembers(SVC, MEMBERS);
  dp.setVips([...Object.values(VIPS), ...DIFF_VIPS]);
});
after(() => dp?.close());

function randomFrame(r: () => number): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const family = r() < 0.5 ? 4 : 6;
  const vip = pick(DIFF_VIPS.filter((v) => (family === 4) === v.addr.includes('.')));
  const proto = r() < 0.3 ? pick(['tcp', 'udp'] as const) : vip.proto;
  const n = Math.floor(r() * 65536);
  const src = family === 4 ? `203.0.113.${n & 0xff}` : `2001:db8:200::${n.toString(16)}`;
  const dst = r() < 0.05 ? (family === 4 ? '192.0.2.99' : '2001:db8::99') : vip.addr;
  const flow: FlowSpec = {
    family,
    proto,
    src,
    dst,
    sport: 1024 + Math.floor(r() * 60000),
    dport: r() < 0.8 ? vip.port || 53 : Math.floor(r() * 65536),
    flags: pick([P.TCP_SYN, P.TCP_ACK, P.TCP_ACK, P.TCP_RST, P.TCP_RST | P.TCP_ACK]),
    payload: Buffer.alloc(r() < 0.05 ? 1400 + Math.floor(r() * 300) : Math.floor(r() * 200), n & 0xff),
    tos: r() < 0.1 ? 0xb8 : 0,
  };
  const e: EthOpts = r() < 0.1 ? { vlans: [{ vid: 1 + (n % 4000) }] } : {};
  const kind = r();
  if (kind < 0.05) {
    // an ICMP error about this flow (the quoted packet goes VIP → client)
    const back = ipPacket({ ...flow, src: flow.dst, dst: flow.src, sport: flow.dport, dport: flow.sport });
    const quote = back.subarray(0, 28 + Math.floor(r() * 20));
    if (family === 4) {
      const m = icmp4(P.ICMP_DEST_UNREACH, P.ICMP_FRAG_NEEDED, u32(1400), quote);
      return eth(P.ETH_P_IP, ipv4({ src: '203.0.113.254', dst: flow.dst, proto: P.IPPROTO_ICMP }, m), e);
    }
    const m = icmp6(
      { family, src: '2001:db8:200::fe', dst: flow.dst },
      P.ICMP6_PACKET_TOO_BIG,
      0,
      u32(1400),
      quote,
    );
    return eth(
      P.ETH_P_IPV6,
      ipv6({ src: '2001:db8:200::fe', dst: flow.dst, nextHeader: P.IPPROTO_ICMPV6 }, m),
      e,
    );
  }
  if (kind < 0.1) {
    const outerDst =
      r() < 0.8 ? (family === 4 ? HOST4 : HOST6) : family === 4 ? '198.51.100.77' : '2001:db8:100::77';
    const outerSrc = family === 4 ? '198.51.100.3' : '2001:db8:100::3';
    return eth(
      family === 4 ? P.ETH_P_IP : P.ETH_P_IPV6,
      tunnel(family, outerSrc, outerDst, ipPacket(flow)),
      e,
    );
  }
  if (kind < 0.15 && family === 4) {
    const seg = ipPacket(flow).subarray(20);
    const frag = r() < 0.5 ? { flags: P.IPV4_MF } : { fragOffset: 1 + Math.floor(r() * 100) };
    return eth(
      P.ETH_P_IP,
      ipv4({ src, dst, proto: proto === 'tcp' ? P.IPPROTO_TCP : P.IPPROTO_UDP, ...frag }, seg),
      e,
    );
  }
  if (kind < 0.15) {
    const seg = ipPacket(flow).subarray(40);
    const nh = proto === 'tcp' ? P.IPPROTO_TCP : P.IPPROTO_UDP;
    return eth(
      P.ETH_P_IPV6,
      ipv6({ src, dst, nextHeader: nh, frag: { offset: Math.floor(r() * 10), more: r() < 0.5, id: n } }, seg),
      e,
    );
  }
  const frame = flowFrame(flow, e);
  return kind < 0.17 ? frame.subarray(0, 14 + Math.floor(r() * (frame.length - 14))) : frame; // some truncated
}

test(`${FLOWS} random frames: program and model agree on verdict, bytes and flow table`, () => {
  const seed = Number(process.env.ANYCASTD_SEED ?? Date.now() % 0xffffffff);
  const r = rng(seed);
  dp.clearFlows();
  const model: SteerState = { ...dp.state, flows: new Map() };
  const seen: Buffer[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < FLOWS; i++) {
    if (i === Math.floor(FLOWS / 3)) dp.setServiceMembers(SVC, MEMBERS.slice(1)); // the local one leaves
    if (i === Math.floor((2 * FLOWS) / 3))
      dp.setServiceMembers(SVC, [
        ...MEMBERS,
        { id: 'h6/web', host4: '198.51.100.6', host6: '2001:db8:100::6', local: false },
      ]);
    const frame = seen.length > 0 && r() < 0.3 ? seen[Math.floor(r() * seen.length)]! : randomFrame(r);
    if (frame.length >= 14) seen.push(frame);
    const got = dp.program.testRun({ data: frame });
    const want = decide(model, frame);
    counts.set(want.outcome, (counts.get(want.outcome) ?? 0) + 1);
    const ctx = `seed ${seed}, frame ${i} (${want.outcome}): ${frame.toString('hex')}`;
    assert.equal(got.retval, want.verdict, `verdict; ${ctx}`);
    assert.equal(got.data.toString('hex'), want.data.toString('hex'), `bytes; ${ctx}`);
  }
  assert.deepEqual(
    new Map([...dp.readFlows()].sort()),
    new Map([...model.flows].sort()),
    `flow tables; seed ${seed}`,
  );
  for (const o of ['local', 'forward', 'decap', 'non-vip', 'too-big', 'parse-fail'])
    assert.ok((counts.get(o) ?? 0) > 0, `outcome ${o} exercised (${JSON.stringify([...counts])})`);
});
