// Fuzz the codec with a fixed seed: valid messages from the encoders, then mutated (bit flips, byte
// changes, truncation, extension, corrupted length fields) and pure random bodies behind a valid
// header, decoded whole and streamed through the framer in random chunks. The invariant: nothing but
// BgpCodecError escapes, and every error is a NOTIFICATION with a code/subcode valid per RFC 4271 §6
// (and its updates) or a non-fatal RFC 7606 action on an UPDATE. Budget: ~3 s in `make test`,
// 60 s with ANYCASTD_FUZZ=long (`make fuzz`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PathAttributes } from '../../src/bgp/codec/attributes/types.js';
import { ErrorCode, MessageType, VALID_SUBCODES } from '../../src/bgp/codec/constants.js';
import { BgpCodecError } from '../../src/bgp/codec/errors.js';
import { Framer } from '../../src/bgp/codec/framer.js';
import { frame } from '../../src/bgp/codec/header.js';
import { encodeKeepalive } from '../../src/bgp/codec/keepalive.js';
import { decodeMessage } from '../../src/bgp/codec/message.js';
import { encodeNotification } from '../../src/bgp/codec/notification.js';
import { encodeOpen } from '../../src/bgp/codec/open.js';
import type { Prefix } from '../../src/bgp/codec/prefix.js';
import { encodeRouteRefresh } from '../../src/bgp/codec/route-refresh.js';
import { encodeUpdate } from '../../src/bgp/codec/update.js';
import { fuzzBudget } from '../helpers/fuzz-budget.js';
import { seededRandom } from './rng.js';

const SHORT_MESSAGES = 1_000;
/** Messages per round between two looks at the budget. */
const ROUND = 100;
const SEED = 0x5eed4271;

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;

function v4(): Prefix {
  const len = int(33);
  return { afi: 1, addr: `${int(256)}.${int(256)}.${int(256)}.${int(256)}`, len };
}
function v6(): Prefix {
  const g = () => int(0x10000).toString(16);
  return { afi: 2, addr: `2001:db8:${g()}:${g()}::${g()}`, len: int(129) };
}

function randomAttributes(): PathAttributes {
  const a: PathAttributes = { origin: pick([0, 1, 2] as const) };
  if (rand() < 0.9) {
    a.asPath = Array.from({ length: int(3) }, () => ({
      type: pick(['sequence', 'set'] as const),
      asns: Array.from({ length: 1 + int(4) }, () =>
        rand() < 0.3 ? 4200000000 + int(1000) : 1 + int(65000),
      ),
    }));
  }
  if (rand() < 0.7) a.nextHop = `192.0.2.${1 + int(254)}`;
  if (rand() < 0.4) a.med = int(1000);
  if (rand() < 0.3) a.localPref = int(1000);
  if (rand() < 0.2) a.atomicAggregate = true;
  if (rand() < 0.2) a.aggregator = { asn: rand() < 0.5 ? 4200000000 : 65001, address: '192.0.2.9' };
  if (rand() < 0.4) a.communities = Array.from({ length: 1 + int(4) }, () => int(0xffffffff));
  if (rand() < 0.3) a.largeCommunities = [{ global: int(0xffffffff), local1: 1, local2: 2 }];
  if (rand() < 0.4) {
    const six = rand() < 0.6;
    a.mpReach = {
      afi: six ? 2 : 1,
      safi: 1,
      nextHops: six ? (rand() < 0.5 ? ['2001:db8::1'] : ['2001:db8::1', 'fe80::1']) : ['fe80::2'],
      nlri: Array.from({ length: int(5) }, six ? v6 : v4),
    };
  }
  if (rand() < 0.2) a.mpUnreach = { afi: 2, safi: 1, withdrawn: Array.from({ length: int(4) }, v6) };
  if (rand() < 0.2)
    a.unknown = [{ code: 100 + int(100), flags: pick([0xc0, 0xe0]), value: Buffer.alloc(int(10), 1) }];
  return a;
}

function validMessage(): Buffer {
  const ctx = { as4: rand() < 0.5, ebgp: rand() < 0.5 };
  switch (int(6)) {
    case 0:
      return encodeOpen({
        myAs: int(0x10000),
        holdTime: int(300),
        bgpId: '192.0.2.1',
        capabilities: [
          { kind: 'multiprotocol', afi: 1 + int(2), safi: 1 },
          { kind: 'four-octet-as', asn: int(0xffffffff) },
          { kind: 'graceful-restart', restarting: false, notification: true, time: 120, families: [] },
          { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
          { kind: 'route-refresh' },
        ].slice(int(5)) as Parameters<typeof encodeOpen>[0]['capabilities'],
      });
    case 1:
      return encodeKeepalive();
    case 2:
      return encodeNotification({ code: 1 + int(7), subcode: int(9), data: Buffer.alloc(int(8), 0xaa) });
    case 3:
      return encodeRouteRefresh({ afi: 1 + int(2), safi: 1, subtype: int(3) });
    default:
      return encodeUpdate(
        {
          withdrawn: Array.from({ length: int(4) }, v4),
          attributes: randomAttributes(),
          nlri: Array.from({ length: int(4) }, v4),
        },
        ctx,
      );
  }
}

function mutate(msg: Buffer): Buffer {
  const m = Buffer.from(msg);
  const kind = int(7);
  const pos = int(m.length);
  if (kind === 0) m[pos]! ^= 1 << int(8);
  else if (kind === 1) m[pos] = int(256);
  else if (kind === 2) return fixLength(m.subarray(0, 19 + int(m.length - 18)));
  else if (kind === 3)
    return fixLength(Buffer.concat([m, Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256)))]));
  else if (kind === 4 && m.length > 21) {
    // corrupt an inner 1- or 2-octet length field somewhere after the header
    const at = 19 + int(m.length - 20);
    m[at] = pick([0, 1, 2, 3, 0x7f, 0xff, m[at]! + 1, m[at]! - 1].map((x) => x & 0xff));
  } else if (kind === 5) {
    for (let i = 0; i < 1 + int(6); i++) m[19 + int(Math.max(1, m.length - 19))] = int(256);
  } else {
    // random body behind a valid header of a random type
    const body = Buffer.from(Array.from({ length: int(80) }, () => int(256)));
    return frame(pick(Object.values(MessageType)), body);
  }
  return m;
}

/** Keep the header length consistent with the buffer, so the body parsers see the damage. */
function fixLength(m: Buffer): Buffer {
  const out = Buffer.from(m);
  if (out.length >= 19) out.writeUInt16BE(Math.min(out.length, 0xffff), 16);
  return out;
}

const ACTIONS = new Set(['session-reset', 'treat-as-withdraw', 'attribute-discard']);

function checkError(e: unknown): void {
  if (!(e instanceof BgpCodecError)) throw e;
  assert.ok(ACTIONS.has(e.action), `action ${e.action}`);
  assert.ok(
    VALID_SUBCODES[e.notifyCode]?.includes(e.notifySubcode),
    `code ${e.notifyCode}/${e.notifySubcode} (${e.reason})`,
  );
  if (e.action !== 'session-reset') assert.equal(e.notifyCode, ErrorCode.UPDATE_MESSAGE);
  assert.match(e.reason, /^[a-z0-9]+(-[a-z0-9]+)*$/);
}

function decodeChecked(msg: Buffer, counts: Map<string, number>): void {
  const ctx = { as4: rand() < 0.5, ebgp: rand() < 0.5 };
  try {
    const m = decodeMessage(msg, ctx);
    if (m.type === 'update') {
      for (const o of m.outcomes) {
        assert.ok(ACTIONS.has(o.action));
        assert.ok(VALID_SUBCODES[ErrorCode.UPDATE_MESSAGE]!.includes(o.subcode), `7606 subcode ${o.subcode}`);
        counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
      }
    }
    counts.set('ok', (counts.get('ok') ?? 0) + 1);
  } catch (e) {
    checkError(e);
    counts.set('session-reset', (counts.get('session-reset') ?? 0) + 1);
  }
}

const budget = fuzzBudget(SHORT_MESSAGES);

test(`codec fuzz (${budget.label}, seed ${SEED.toString(16)})`, () => {
  const counts = new Map<string, number>();
  let n = 0;
  while (budget.more(n)) {
    for (let i = 0; i < ROUND; i++, n++) {
      const valid = validMessage();
      decodeChecked(valid, counts);
      let msg = valid;
      const rounds = 1 + int(3);
      for (let r = 0; r < rounds; r++) msg = mutate(msg);
      decodeChecked(msg, counts);
      // the same bytes through the framer in random chunks
      const f = new Framer();
      try {
        for (let at = 0; at < msg.length; ) {
          const step = 1 + int(msg.length);
          for (const whole of f.push(msg.subarray(at, at + step))) decodeChecked(whole, counts);
          at += step;
        }
      } catch (e) {
        checkError(e);
      }
    }
  }
  // every outcome class was reached, so the invariant was tested on each
  for (const k of ['ok', 'session-reset', 'treat-as-withdraw', 'attribute-discard']) {
    assert.ok((counts.get(k) ?? 0) > 0, `never saw ${k}`);
  }
  console.log(`fuzz: ${n} valid + ${n} mutated messages`, Object.fromEntries(counts));
});
