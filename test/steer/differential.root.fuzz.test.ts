// Differential test: thousands of random frames — flows to VIPs over a 5-instance Maglev ring, repeats
// (flow hits), RSTs, fragments, VLANs, oversize packets, ICMP errors, tunnelled packets, non-VIPs —
// through the real program (BPF_PROG_TEST_RUN) and the TypeScript model over the same state: the
// same verdict, the same output bytes, and in the end the same flow table. Ring changes happen midway;
// a second run drives a two-ring service through drain, drain end, add, grace end and a failure, with
// marked and unmarked tunnelled packets (second chance).
// ANYCASTD_FUZZ=long runs 50x more frames.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checksum } from '../../model/csum.js';
import { decide, type ModelState } from '../../model/steer.js';
import type { Dataplane, InstanceSpec } from '../../src/steer/dataplane.js';
import { SECOND_CHANCE_ID4, SECOND_CHANCE_LABEL6 } from '../../src/steer/layout.js';
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
const SVC2 = 5; // two rings
const RING_VIPS: VipSpec[] = [
  { vipId: 14, serviceId: SVC2, addr: '192.0.2.30', proto: 'tcp', port: 443 },
  { vipId: 15, serviceId: SVC2, addr: '192.0.2.30', proto: 'udp', port: 0 },
  { vipId: 16, serviceId: SVC2, addr: '2001:db8::30', proto: 'tcp', port: 443 },
  { vipId: 17, serviceId: SVC2, addr: '2001:db8::30', proto: 'udp', port: 0 },
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
  dp.setVips([...Object.values(VIPS), ...DIFF_VIPS, ...RING_VIPS]);
});
after(() => dp?.close());

/** Puts the second-chance mark on an outer header (IPv4 id, checksum fixed; IPv6 flow-label bit). */
function markOuter(ip: Buffer, family: 4 | 6): void {
  if (family === 6) {
    ip.writeUInt32BE((ip.readUInt32BE(0) | SECOND_CHANCE_LABEL6) >>> 0, 0);
    return;
  }
  ip.writeUInt16BE(SECOND_CHANCE_ID4, 4);
  ip.writeUInt16BE(0, 10);
  ip.writeUInt16BE(checksum(ip.subarray(0, P.IPV4_HLEN)), 10);
}

function randomFrame(r: () => number, vips: readonly VipSpec[] = DIFF_VIPS): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const family = r() < 0.5 ? 4 : 6;
  const vip = pick(vips.filter((v) => (family === 4) === v.addr.includes('.')));
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
    const t = tunnel(family, outerSrc, outerDst, ipPacket(flow));
    if (r() < 0.3) markOuter(t, family); // a second-chance packet
    return eth(family === 4 ? P.ETH_P_IP : P.ETH_P_IPV6, t, e);
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

/** Runs random frames through program and model; `step(i)` changes rings midway. */
function differential(
  vips: readonly VipSpec[],
  step: (i: number) => void,
  outcomes: readonly string[],
): void {
  const seed = Number(process.env.ANYCASTD_SEED ?? Date.now() % 0xffffffff);
  const r = rng(seed);
  dp.clearFlows();
  const model: ModelState = { ...dp.state, flows: new Map() };
  const seen: Buffer[] = [];
  const counts = new Map<string, number>();
  for (let i = 0; i < FLOWS; i++) {
    step(i);
    const frame = seen.length > 0 && r() < 0.3 ? seen[Math.floor(r() * seen.length)]! : randomFrame(r, vips);
    if (frame.length >= 14) seen.push(frame);
    const got = dp.program.testRun({ data: frame });
    const want = decide(model, frame);
    const key = want.secondChance ? `sc-${want.secondChance}` : want.outcome;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const ctx = `seed ${seed}, frame ${i} (${want.outcome}): ${frame.toString('hex')}`;
    assert.equal(got.retval, want.verdict, `verdict; ${ctx}`);
    assert.equal(got.data.toString('hex'), want.data.toString('hex'), `bytes; ${ctx}`);
  }
  assert.deepEqual(
    new Map([...dp.readFlows()].sort()),
    new Map([...model.flows].sort()),
    `flow tables; seed ${seed}`,
  );
  for (const o of outcomes)
    assert.ok((counts.get(o) ?? 0) > 0, `outcome ${o} exercised (${JSON.stringify([...counts])})`);
}

test(`${FLOWS} random frames: program and model agree on verdict, bytes and flow table`, () => {
  const h6 = { id: 'h6/web', host4: '198.51.100.6', host6: '2001:db8:100::6', local: false };
  differential(
    DIFF_VIPS,
    (i) => {
      if (i === Math.floor(FLOWS / 3)) dp.setServiceMembers(SVC, MEMBERS.slice(1)); // the local one leaves
      if (i === Math.floor((2 * FLOWS) / 3)) dp.setServiceMembers(SVC, [...MEMBERS, h6]);
    },
    ['local', 'forward', 'decap', 'non-vip', 'too-big', 'parse-fail'],
  );
});

test(`${FLOWS} random frames over two rings through drain, add and failure: program and model agree`, () => {
  const h6 = { id: 'h6/web', host4: '198.51.100.6', host6: '2001:db8:100::6', local: false };
  const h3 = MEMBERS[2]!;
  const without = (xs: readonly InstanceSpec[], x: InstanceSpec) => xs.filter((m) => m.id !== x.id);
  const steps: [number, () => void][] = [
    [0, () => dp.setServiceRings(SVC2, { new: MEMBERS, established: MEMBERS })],
    [1 / 6, () => dp.setServiceRings(SVC2, { new: without(MEMBERS, LOCAL), established: MEMBERS })], // drain
    [
      2 / 6,
      () => dp.setServiceRings(SVC2, { new: without(MEMBERS, LOCAL), established: without(MEMBERS, LOCAL) }),
    ],
    [3 / 6, () => dp.setServiceRings(SVC2, { new: [...MEMBERS, h6], established: MEMBERS })], // undrain + add
    [4 / 6, () => dp.setServiceRings(SVC2, { new: [...MEMBERS, h6], established: [...MEMBERS, h6] })], // grace over
    [
      5 / 6,
      () => {
        dp.setInstance(h3, false); // h3 fails: out of both at once
        dp.setServiceRings(SVC2, {
          new: without([...MEMBERS, h6], h3),
          established: without([...MEMBERS, h6], h3),
        });
      },
    ],
  ];
  differential(
    RING_VIPS,
    (i) => {
      for (const [at, run] of steps) if (i === Math.floor(at * FLOWS)) run();
    },
    ['local', 'forward', 'decap', 'sc-forwarded', 'sc-used', 'sc-none'],
  );
  dp.setInstance(h3, true);
});
