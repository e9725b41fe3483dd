// The BFD state machine (RFC 5880 §6.8) on a fake clock: two sessions wired back to back come Up
// through Down → Init → Up; silence takes one Down within the detection time (diag 1) and the other
// learns it (diag 3); the slow rate before Up and the Poll Sequence that brings the agreed rate in;
// a timer change while Up through P/F; AdminDown does not take the peer's side down.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeControl } from '../../src/bfd/codec.js';
import { BfdSession, type BfdTimers } from '../../src/bfd/session.js';
import { FakeClock } from '../helpers/fake-clock.js';

const FAST: BfdTimers = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };

function pair(clock: FakeClock, timers: BfdTimers = FAST) {
  const wire = { aToB: true, bToA: true };
  const states: string[] = [];
  const sent = { a: [] as Buffer[], b: [] as Buffer[] };
  const sessions: { a?: BfdSession; b?: BfdSession } = {};
  const make = (name: 'a' | 'b', disc: number) =>
    new BfdSession({
      clock,
      localDiscriminator: disc,
      timers,
      random: () => 0.5,
      send: (p) => {
        sent[name].push(p);
        const other = name === 'a' ? sessions.b : sessions.a;
        const open = name === 'a' ? wire.aToB : wire.bToA;
        const r = decodeControl(p);
        assert.ok(r.ok);
        if (open) clock.setTimeout(() => other?.receive(r.packet), 0);
        return null;
      },
      events: { onState: (from, to, diag) => states.push(`${name}:${from}>${to}:${diag}`) },
    });
  sessions.a = make('a', 1);
  sessions.b = make('b', 2);
  return { a: sessions.a, b: sessions.b, wire, states, sent };
}

test('two sessions come Up, then run the agreed rate after the Poll Sequence', async () => {
  const clock = new FakeClock();
  const { a, b, states } = pair(clock);
  a.start();
  b.start();
  await clock.advance(50);
  assert.equal(a.state, 'up');
  assert.equal(b.state, 'up');
  assert.deepEqual(states.slice(0, 2), ['b:down>init:none', 'a:down>init:none']);
  await clock.advance(2_000);
  const s = a.status();
  assert.equal(s.pollActive, false);
  assert.equal(s.txIntervalMs, 100);
  assert.equal(s.detectTimeMs, 300);
  assert.equal(s.remoteDiscriminator, 2);
});

test('silence: Down within the detection time (diag 1); the peer hears Down and follows (diag 3)', async () => {
  const clock = new FakeClock();
  const { a, b, wire, states } = pair(clock);
  a.start();
  b.start();
  await clock.advance(3_000);
  assert.equal(a.state, 'up');
  wire.bToA = false; // b goes silent for a
  const cut = clock.now();
  let downAt = 0;
  while (a.state === 'up') {
    await clock.advance(1);
    downAt = clock.now();
  }
  assert.ok(downAt - cut <= 300, `down after ${downAt - cut} ms`);
  assert.ok(downAt - cut >= 200, `down after ${downAt - cut} ms (too early)`);
  assert.equal(a.status().localDiag, 'control-detection-time-expired');
  await clock.advance(200);
  assert.notEqual(b.state, 'up');
  assert.ok(states.includes('b:up>down:neighbor-signaled-session-down'));
  wire.bToA = true;
  await clock.advance(5_000);
  assert.equal(a.state, 'up');
  assert.equal(b.state, 'up');
});

test('before Up packets go once a second at most; Up brings the configured rate', async () => {
  const clock = new FakeClock();
  const { a, sent, wire } = pair(clock);
  wire.aToB = false; // nobody hears a: it stays Down
  a.start();
  await clock.advance(5_000);
  assert.ok(sent.a.length <= 6, `${sent.a.length} packets in 5 s while Down`);
  const r = decodeControl(sent.a.at(-1)!);
  assert.ok(r.ok);
  assert.equal(r.packet.desiredMinTxUs, 1_000_000);
});

test('a timer change while Up runs a Poll Sequence; a longer interval takes effect at the Final', async () => {
  const clock = new FakeClock();
  const { a, b, sent } = pair(clock);
  a.start();
  b.start();
  await clock.advance(3_000);
  sent.a.length = 0;
  sent.b.length = 0;
  a.setTimers({ desiredMinTxUs: 300_000, requiredMinRxUs: 300_000, detectMult: 5 });
  const first = decodeControl(sent.a[0]!);
  assert.ok(first.ok && first.packet.poll);
  await clock.advance(10);
  const final = sent.b.map(decodeControl).find((r) => r.ok && r.packet.final);
  assert.ok(final, 'b answered the poll with F');
  await clock.advance(2_000);
  assert.equal(a.status().pollActive, false);
  assert.equal(a.status().txIntervalMs, 300);
  assert.equal(b.status().detectTimeMs, 1_500); // a's multiplier 5 × a's 300 ms
  assert.equal(a.state, 'up');
  assert.equal(b.state, 'up');
});

test('AdminDown: the peer goes Down (diag 3) but is not reported as a failure of the path', async () => {
  const clock = new FakeClock();
  const { a, b, states } = pair(clock);
  a.start();
  b.start();
  await clock.advance(3_000);
  a.adminDown();
  await clock.advance(50);
  assert.equal(a.state, 'admin-down');
  assert.equal(b.state, 'down');
  assert.ok(states.includes('b:up>down:neighbor-signaled-session-down'));
  a.adminUp();
  await clock.advance(5_000);
  assert.equal(a.state, 'up');
  a.stop();
  b.stop();
  assert.equal(clock.pending, 0);
});

test('a packet waiting unread when the detection time expires (the event loop was held) keeps the session Up', async () => {
  const clock = new FakeClock();
  let a: BfdSession | undefined;
  const b: BfdSession = new BfdSession({
    clock,
    localDiscriminator: 2,
    timers: FAST,
    random: () => 0.5,
    send: (p) => {
      const r = decodeControl(p);
      assert.ok(r.ok);
      if (held) queued.push(r.packet);
      else clock.setTimeout(() => a?.receive(r.packet), 0);
      return null;
    },
  });
  let held = false;
  const queued: Parameters<BfdSession['receive']>[0][] = [];
  let reads = 0;
  a = new BfdSession({
    clock,
    localDiscriminator: 1,
    timers: FAST,
    random: () => 0.5,
    send: (p) => {
      const r = decodeControl(p);
      assert.ok(r.ok);
      clock.setTimeout(() => b.receive(r.packet), 0);
      return null;
    },
    // What the socket holds is read at expiry: the peer's packets arrived, only the loop was late.
    readPending: () => {
      reads++;
      for (const p of queued.splice(0)) a?.receive(p);
    },
  });
  a.start();
  b.start();
  await clock.advance(3_000);
  assert.equal(a.state, 'up');
  held = true; // b's packets reach a's socket but are not read until a asks
  await clock.advance(1_000);
  assert.equal(a.state, 'up', 'the waiting packets were read at each expiry');
  assert.ok(reads > 0);
  a.stop();
  b.stop();
});
