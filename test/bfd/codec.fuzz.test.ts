// Fuzz of what a BFD peer can send (every datagram is hostile): valid control packets mutated (bit
// flips, byte changes, truncation, extension) and random bytes go through the decoder and, when they
// decode, into a live session on a fake clock. Invariants: nothing throws, the decoder gives a packet
// or a named reason, the session's state is one of the four and its counters only count. Budget:
// SHORT_DATAGRAMS seeded datagrams in `make test`, 60 s with ANYCASTD_FUZZ=long (`make fuzz`).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type BfdStateCode,
  CODEC_DROP_REASONS,
  decodeControl,
  encodeControl,
  STATE_NAMES,
} from '../../src/bfd/codec.js';
import { BfdSession } from '../../src/bfd/session.js';
import { seededRandom } from '../bgp/rng.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { fuzzBudget } from '../helpers/fuzz-budget.js';

const SHORT_DATAGRAMS = 20_000;
/** Datagrams per round between two looks at the budget. */
const ROUND = 500;
const SEED = 0x5eed5880;
const REASONS = new Set<string>(CODEC_DROP_REASONS);

const rand = seededRandom(SEED);
const int = (n: number) => Math.floor(rand() * n);

function validPacket(your: number): Buffer {
  return encodeControl({
    diag: int(9),
    state: int(4) as BfdStateCode,
    poll: rand() < 0.2,
    final: rand() < 0.2,
    detectMult: 1 + int(255),
    myDiscriminator: 1 + int(0xfffffffe),
    yourDiscriminator: rand() < 0.5 ? your : int(3),
    desiredMinTxUs: rand() < 0.1 ? 0 : int(2_000_000),
    requiredMinRxUs: rand() < 0.1 ? 0 : int(2_000_000),
    requiredMinEchoRxUs: int(1000),
  });
}

function mutate(b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (int(5)) {
    case 0:
      out[int(out.length)]! ^= 1 << int(8);
      return out;
    case 1:
      out[int(out.length)] = int(256);
      return out;
    case 2:
      return out.subarray(0, int(out.length));
    case 3:
      return Buffer.concat([out, Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256)))]);
    default:
      return Buffer.from(Array.from({ length: int(80) }, () => int(256)));
  }
}

test('hostile datagrams: the decoder is total, a session never throws nor leaves its four states', async () => {
  const clock = new FakeClock();
  let sent = 0;
  const session = new BfdSession({
    clock,
    localDiscriminator: 42,
    timers: { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 },
    send: () => {
      sent++;
      return null;
    },
    random: rand,
  });
  session.start();
  const budget = fuzzBudget(SHORT_DATAGRAMS);
  let n = 0;
  let decoded = 0;
  while (budget.more(n)) {
    for (let i = 0; i < ROUND; i++, n++) {
      const buf = rand() < 0.5 ? validPacket(42) : mutate(validPacket(42));
      const r = decodeControl(buf);
      if (!r.ok) {
        assert.ok(REASONS.has(r.reason), r.reason);
        continue;
      }
      decoded++;
      session.receive(r.packet);
      assert.ok(STATE_NAMES.includes(session.state));
      if (rand() < 0.05) clock.advanceSync(int(5_000));
    }
  }
  const s = session.status();
  assert.ok(s.counters.packetsIn <= decoded);
  assert.ok(sent > 0);
  session.stop();
  assert.equal(clock.pending, 0);
  console.log(
    `# bfd fuzz: ${n} datagrams, ${decoded} decoded, ${s.counters.packetsIn} accepted, ${sent} sent`,
  );
  assert.ok(decoded > 0 && decoded < n, 'both decodable and undecodable datagrams were tried');
});
