// The early answer for non-VIP frames (bpf/non_vip.h): every kind of frame it judges in place, or leaves
// to the full path, gets the verdict, bytes and counter the full path gives (and the model's outcome) —
// a non-VIP address counts non_vip and passes untouched, a header the parse refuses counts parse_fail,
// a tunnel to this host is entered, and a VIP address still reaches its probes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decide } from '../../model/steer.js';
import type { Dataplane } from '../../src/steer/dataplane.js';
import * as P from '../../src/steer/proto.js';
import { eth, type FlowSpec, flowFrame, ipPacket, ipv4, ipv6, tunnel } from './packets.js';
import { CLIENT4, CLIENT6, HOST4, HOST6, openTestbed, REMOTE4, REMOTE6, VIPS } from './setup.js';

const OTHER4 = '192.0.2.99'; // no VIP (its filter bit is clear: checked below)
const OTHER6 = '2001:db8::99';
const t = (family: 4 | 6, dst: string, dport = 80): FlowSpec => ({
  family,
  proto: 'tcp',
  src: family === 4 ? CLIENT4 : CLIENT6,
  dst,
  sport: 40000,
  dport,
  flags: P.TCP_ACK,
});
const tcpV4 = (dst: string, o: Partial<Parameters<typeof ipv4>[0]> = {}): Buffer =>
  eth(P.ETH_P_IP, ipv4({ src: CLIENT4, dst, proto: P.IPPROTO_TCP, ...o }, Buffer.alloc(20)));
const withByte = (f: Buffer, off: number, v: number): Buffer => {
  const c = Buffer.from(f);
  c[off] = v;
  return c;
};
const IP = P.ETH_HLEN;

type Counter = 'non_vip' | 'parse_fail' | 'none';
const CASES: { name: string; frame: Buffer; counter: Counter; outcome: string }[] = [
  { name: 'v4 non-VIP', frame: flowFrame(t(4, OTHER4)), counter: 'non_vip', outcome: 'non-vip' },
  { name: 'v6 non-VIP', frame: flowFrame(t(6, OTHER6)), counter: 'non_vip', outcome: 'non-vip' },
  {
    name: "v4 to this host's address",
    frame: flowFrame(t(4, HOST4, 179)),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v4 non-VIP, other protocol, short payload',
    frame: eth(P.ETH_P_IP, ipv4({ src: CLIENT4, dst: OTHER4, proto: 89 }, Buffer.alloc(2))),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v4 non-VIP with options',
    frame: tcpV4(OTHER4, { options: Buffer.from([1, 1, 1, 0]) }),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v4 non-VIP fragment',
    frame: tcpV4(OTHER4, { flags: P.IPV4_MF }),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v6 non-VIP fragment (full path)',
    frame: eth(
      P.ETH_P_IPV6,
      ipv6(
        { src: CLIENT6, dst: OTHER6, nextHeader: 6, frag: { offset: 1, more: false, id: 7 } },
        Buffer.alloc(16),
      ),
    ),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v4 non-VIP behind a VLAN tag (full path)',
    frame: flowFrame(t(4, OTHER4), { vlans: [{ vid: 100 }] }),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'v4 truncated (total length past the frame)',
    frame: flowFrame(t(4, OTHER4)).subarray(0, 40),
    counter: 'parse_fail',
    outcome: 'parse-fail',
  },
  {
    name: 'v4 ihl < 5',
    frame: withByte(flowFrame(t(4, OTHER4)), IP, 0x44),
    counter: 'parse_fail',
    outcome: 'parse-fail',
  },
  {
    name: 'v4 frame, version 6 byte',
    frame: withByte(flowFrame(t(4, OTHER4)), IP, 0x65),
    counter: 'parse_fail',
    outcome: 'parse-fail',
  },
  {
    name: 'v6 truncated',
    frame: flowFrame(t(6, OTHER6)).subarray(0, 60),
    counter: 'parse_fail',
    outcome: 'parse-fail',
  },
  {
    name: 'v6 frame, version 4 byte',
    frame: withByte(flowFrame(t(6, OTHER6)), IP, 0x45),
    counter: 'parse_fail',
    outcome: 'parse-fail',
  },
  {
    name: 'IPIP to this host, inner non-VIP (full path: the tunnel entered)',
    frame: eth(P.ETH_P_IP, tunnel(4, REMOTE4, HOST4, ipPacket(t(4, OTHER4)))),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'IP6-in-IP6 to this host, inner non-VIP',
    frame: eth(P.ETH_P_IPV6, tunnel(6, REMOTE6, HOST6, ipPacket(t(6, OTHER6)))),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
  {
    name: 'IPIP to this host, inner VIP: decapsulated',
    frame: eth(P.ETH_P_IP, tunnel(4, REMOTE4, HOST4, ipPacket(t(4, VIPS.local4.addr)))),
    counter: 'none',
    outcome: 'decap',
  },
  {
    name: "a VIP address's flow",
    frame: flowFrame(t(4, VIPS.local4.addr)),
    counter: 'none',
    outcome: 'local',
  },
  { name: 'a v6 VIP address', frame: flowFrame(t(6, VIPS.local6.addr)), counter: 'none', outcome: 'local' },
  {
    name: "a VIP address's other port (probes, then non_vip)",
    frame: flowFrame(t(4, VIPS.local4.addr, 8080)),
    counter: 'non_vip',
    outcome: 'non-vip',
  },
];

let dp: Dataplane;
before(() => {
  dp = openTestbed();
});
after(() => dp.close());

for (const c of CASES) {
  test(c.name, () => {
    dp.clearFlows();
    dp.resetStats();
    const m = decide({ ...dp.state, flows: new Map() }, c.frame);
    assert.equal(m.outcome, c.outcome, 'model outcome');
    const r = dp.program.testRun({ data: c.frame });
    assert.equal(r.retval, m.verdict, 'verdict');
    assert.equal(r.data.toString('hex'), m.data.toString('hex'), 'bytes');
    const g = dp.globalStats();
    assert.deepEqual(
      { non_vip: g.non_vip, parse_fail: g.parse_fail },
      { non_vip: c.counter === 'non_vip' ? 1n : 0n, parse_fail: c.counter === 'parse_fail' ? 1n : 0n },
    );
  });
}
