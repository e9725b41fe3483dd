// UPDATE codec throughput (DESIGN.md "Measures that matter"): messages and prefixes per second
// through encodeUpdate / decodeUpdate (src/bgp/codec/update.ts, RFC 4271 §4.3, RFC 4760 MP_REACH_NLRI)
// for N IPv6 /128 routes (2001:db8::/32) with ORIGIN, a 4-octet AS_PATH and an MP_REACH next hop,
// either one prefix per UPDATE or packed (as many as fit in 4,096 octets). Both are built by the
// speaker's own export (src/bgp/export.ts buildUpdates), so the bench measures the UPDATEs it sends.
// Baseline in the same run: JSON.stringify / JSON.parse of the same routes grouped the same way
// (one JSON text per UPDATE), and a plain Buffer copy of the encoded bytes.
import assert from 'node:assert/strict';
import { Afi, MAX_MESSAGE_LENGTH, Safi } from '../src/bgp/codec/constants.js';
import type { Prefix } from '../src/bgp/codec/prefix.js';
import { decodeUpdate, encodeUpdate, type UpdateMessage } from '../src/bgp/codec/update.js';
import { buildUpdates, type ExportSession } from '../src/bgp/export.js';

const CTX = { as4: true, ebgp: true };
const HOST_AS = 4_200_000_101;
const NEXT_HOP = '2001:db8:1::';
const PREFIX_BITS = 128;
const HEXTET = 16;

export interface CodecFigures {
  prefixes: number;
  packing: 'single' | 'packed';
  messages: number;
  bytes: number;
  /** Median over the runs, messages per second. */
  encodePerS: number;
  decodePerS: number;
  /** The same routes through JSON.stringify / JSON.parse, one text per message. */
  jsonStringifyPerS: number;
  jsonParsePerS: number;
  /** Buffer.from(copy) of every encoded message. */
  bufferCopyPerS: number;
}

function routes(n: number): Prefix[] {
  return Array.from({ length: n }, (_, i) => ({
    afi: Afi.IPV6,
    addr: `2001:db8::${(i >>> HEXTET).toString(16)}:${(i & 0xffff).toString(16)}`,
    len: PREFIX_BITS,
  }));
}

/** An eBGP session over IPv6 with a global next hop: ORIGIN, a 4-octet AS_PATH, MP_REACH_NLRI. */
const SESSION: ExportSession = {
  localAs: HOST_AS,
  ibgp: false,
  families: [{ afi: Afi.IPV6, safi: Safi.UNICAST }],
  extendedNextHop: false,
  ipv6NextHops: [NEXT_HOP],
};

/** The UPDATEs the speaker sends for these prefixes: one each, or packed as it packs them. */
function updates(prefixes: Prefix[], packing: CodecFigures['packing']): Partial<UpdateMessage>[] {
  const announced = prefixes.map((prefix) => ({ prefix, attributes: {} }));
  if (packing === 'packed') return buildUpdates(announced, [], SESSION);
  return announced.flatMap((r) => buildUpdates([r], [], SESSION));
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median rate (items per second) of `f` over `runs` runs of `items` items each. */
function rate(items: number, runs: number, f: () => void): number {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    ms.push(performance.now() - t);
  }
  return Math.round(items / (median(ms) / 1000));
}

export function codecFigures(n: number, packing: CodecFigures['packing'], runs: number): CodecFigures {
  const objects = updates(routes(n), packing);
  let wire: Buffer[] = [];
  const encodePerS = rate(objects.length, runs, () => {
    wire = objects.map((u) => encodeUpdate(u, CTX));
  });
  let decoded = 0;
  const decodePerS = rate(objects.length, runs, () => {
    decoded = 0;
    for (const m of wire) decoded += decodeUpdate(m, CTX).attributes.mpReach!.nlri.length;
  });
  assert.equal(decoded, n, 'every prefix decoded back');
  assert.ok(
    wire.every((m) => m.length <= MAX_MESSAGE_LENGTH),
    'every UPDATE fits in one message',
  );
  let texts: string[] = [];
  const jsonStringifyPerS = rate(objects.length, runs, () => {
    texts = objects.map((u) => JSON.stringify(u));
  });
  const jsonParsePerS = rate(objects.length, runs, () => {
    for (const t of texts) JSON.parse(t);
  });
  const bufferCopyPerS = rate(objects.length, runs, () => {
    for (const m of wire) Buffer.from(m);
  });
  return {
    prefixes: n,
    packing,
    messages: objects.length,
    bytes: wire.reduce((s, m) => s + m.length, 0),
    encodePerS,
    decodePerS,
    jsonStringifyPerS,
    jsonParsePerS,
    bufferCopyPerS,
  };
}

const k = (x: number): string =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : `${Math.round(x)}`;
const ratio = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;

export function codecLine(f: CodecFigures): string {
  const perMsg = f.prefixes / f.messages;
  return (
    `${k(f.prefixes)} prefixes, ${f.packing} (${f.messages} UPDATEs, ${perMsg.toFixed(0)} prefix/msg, ${f.bytes} B): ` +
    `encode ${k(f.encodePerS)} msg/s (${k(f.encodePerS * perMsg)} prefix/s; ${ratio(f.encodePerS, f.jsonStringifyPerS)} JSON.stringify), ` +
    `decode ${k(f.decodePerS)} msg/s (${k(f.decodePerS * perMsg)} prefix/s; ${ratio(f.decodePerS, f.jsonParsePerS)} JSON.parse); ` +
    `baseline JSON.stringify ${k(f.jsonStringifyPerS)}/s, JSON.parse ${k(f.jsonParsePerS)}/s, Buffer copy ${k(f.bufferCopyPerS)}/s`
  );
}
