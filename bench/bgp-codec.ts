// UPDATE codec throughput (issue 4, DESIGN.md "Measures that matter"): messages and prefixes per second
// through encodeUpdate / decodeUpdate (src/bgp/codec/update.ts, RFC 4271 §4.3, RFC 4760 MP_REACH_NLRI)
// for N IPv6 /128 routes (2001:db8::/32) with ORIGIN, a 4-octet AS_PATH and an MP_REACH next hop,
// either one prefix per UPDATE or packed (as many as fit in 4,096 octets, as src/bgp/export.ts packs).
// Baseline in the same run: JSON.stringify / JSON.parse of the same routes grouped the same way
// (one JSON text per UPDATE), and a plain Buffer copy of the encoded bytes.
import assert from 'node:assert/strict';
import type { PathAttributes } from '../src/bgp/codec/attributes/types.js';
import { Afi, MAX_MESSAGE_LENGTH, Origin, Safi } from '../src/bgp/codec/constants.js';
import { encodedPrefixLength, type Prefix } from '../src/bgp/codec/prefix.js';
import { decodeUpdate, encodeUpdate } from '../src/bgp/codec/update.js';

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

function attrs(nlri: Prefix[]): PathAttributes {
  return {
    origin: Origin.IGP,
    asPath: [{ type: 'sequence', asns: [HOST_AS] }],
    mpReach: { afi: Afi.IPV6, safi: Safi.UNICAST, nextHops: [NEXT_HOP], nlri },
  };
}

/** Group prefixes into UPDATEs: one each, or as many as fit in one message. */
function groups(prefixes: Prefix[], packing: CodecFigures['packing']): Prefix[][] {
  if (packing === 'single') return prefixes.map((p) => [p]);
  const room = MAX_MESSAGE_LENGTH - encodeUpdate({ attributes: attrs([]) }, CTX).length;
  const out: Prefix[][] = [];
  let cur: Prefix[] = [];
  let used = 0;
  for (const p of prefixes) {
    const n = encodedPrefixLength(p);
    if (used + n > room) {
      out.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(p);
    used += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
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
  const gs = groups(routes(n), packing);
  const objects = gs.map((g) => ({ withdrawn: [], attributes: attrs(g), nlri: [] }));
  let wire: Buffer[] = [];
  const encodePerS = rate(gs.length, runs, () => {
    wire = objects.map((u) => encodeUpdate(u, CTX));
  });
  let decoded = 0;
  const decodePerS = rate(gs.length, runs, () => {
    decoded = 0;
    for (const m of wire) decoded += decodeUpdate(m, CTX).attributes.mpReach!.nlri.length;
  });
  assert.equal(decoded, n, 'every prefix decoded back');
  assert.equal(wire.at(-1)!.length <= MAX_MESSAGE_LENGTH, true);
  let texts: string[] = [];
  const jsonStringifyPerS = rate(gs.length, runs, () => {
    texts = objects.map((u) => JSON.stringify(u));
  });
  const jsonParsePerS = rate(gs.length, runs, () => {
    for (const t of texts) JSON.parse(t);
  });
  const bufferCopyPerS = rate(gs.length, runs, () => {
    for (const m of wire) Buffer.from(m);
  });
  return {
    prefixes: n,
    packing,
    messages: gs.length,
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
