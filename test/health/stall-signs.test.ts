// The stall signs on hand-made sock_diag views (a queue that drains is no sign; one connection left in
// the accept queue, a full queue, a request left unanswered are), and the check runner's fast window:
// a sign starts a probe now and then one spacing later, `fall` at once, so a hung service's probes (each
// taking the whole timeout) reach fall in timeout + one spacing; a sign never fails a check alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ServedConnection, StallTracker } from '../../src/health/stall-signs.js';
import { HUNG_OPTS, startedRunner } from './hung-service.js';

const STALL = 100;
const info = (recv: number, sent: number, segsIn: number, segsOut: number) => ({
  lastDataRecvMs: recv,
  lastDataSentMs: sent,
  dataSegsIn: segsIn,
  dataSegsOut: segsOut,
  bytesReceived: segsIn * 100,
});
const waiting = (peer: string, extra: Partial<ServedConnection> = {}): ServedConnection => ({
  peer,
  accepted: false,
  ...extra,
});

test('stall signs: a queue that drains is healthy however long it is non-empty', () => {
  const t = new StallTracker();
  // Every scan shows connections waiting, but never the same one twice: they are being accepted.
  for (let i = 0; i < 20; i++) {
    const conns = [
      waiting(`a${i}`),
      waiting(`b${i}`),
      { peer: `c${i}`, accepted: true, info: info(5, 4, 1, 1) },
    ];
    assert.equal(t.scan([{ queued: 2, max: 511 }], conns, i * 50, STALL), null, `scan ${i}`);
  }
});

test('stall signs: one connection left in the accept queue for the stall time', () => {
  const t = new StallTracker();
  assert.equal(t.scan([{ queued: 1, max: 511 }], [waiting('x')], 0, STALL), null);
  assert.equal(t.scan([{ queued: 2, max: 511 }], [waiting('x'), waiting('y')], 50, STALL), null);
  assert.equal(
    t.scan([{ queued: 2, max: 511 }], [waiting('x'), waiting('y')], 100, STALL),
    'a connection not accepted for 100 ms (from x)',
  );
  // Its request's age counts from the first scan that sees it.
  const u = new StallTracker();
  assert.equal(
    u.scan([], [waiting('z', { info: info(130, 140, 1, 0) })], 0, STALL),
    'a connection not accepted for 130 ms (from z)',
  );
});

test('stall signs: a full accept queue at once; an unanswered request after the stall time', () => {
  assert.equal(new StallTracker().scan([{ queued: 8, max: 8 }], [], 0, STALL), 'accept queue full (8 of 8)');
  const t = new StallTracker();
  const conn = (recv: number, sent: number, segsOut: number): ServedConnection => ({
    peer: 'p',
    accepted: true,
    info: info(recv, sent, 3, segsOut),
  });
  assert.equal(
    t.scan([], [conn(120, 500, 0)], 0, STALL),
    'a request unanswered for 120 ms (from p)',
    'never answered',
  );
  assert.equal(
    t.scan([], [conn(120, 500, 2)], 0, STALL),
    'a request unanswered for 120 ms (from p)',
    'last one unanswered',
  );
  assert.equal(t.scan([], [conn(60, 500, 2)], 0, STALL), null, 'not yet the stall time');
  assert.equal(t.scan([], [conn(900, 900, 2)], 0, STALL), null, 'answered in the same tick');
  assert.equal(t.scan([], [conn(900, 800, 2)], 0, STALL), null, 'answered, idle since');
  const idle: ServedConnection = { peer: 's', accepted: true, info: info(900, 900, 0, 1) };
  assert.equal(t.scan([], [idle], 0, STALL), null, 'nothing received (a sentinel): nothing to answer');
});

test('stall signs: the connection due to become a sign, looked up again at its stall time', () => {
  const tuple = {
    family: 4 as const,
    localAddress: '10.0.0.1',
    localPort: 80,
    remoteAddress: '10.0.0.2',
    remotePort: 5,
  };
  const t = new StallTracker();
  // Unanswered for 30 ms at scan time 1000: due at 1070; another, younger one is due later.
  const a: ServedConnection = { peer: 'a', accepted: true, tuple, info: info(30, 500, 1, 0) };
  const b: ServedConnection = { peer: 'b', accepted: true, tuple, info: info(10, 500, 1, 0) };
  assert.equal(t.scan([], [b, a], 1000, STALL), null);
  assert.equal(t.due?.conn.peer, 'a');
  assert.equal(t.due?.at, 1070);
  // Still unanswered at 1070 (tcp_info now says 100 ms): a sign, without waiting for the next poll.
  assert.equal(
    t.recheck({ ...a, info: info(100, 500, 1, 0) }, 1070, STALL),
    'a request unanswered for 100 ms (from a)',
  );
  assert.equal(t.due, null, 'a recheck clears the due connection');
  // Answered meanwhile, or gone: no sign.
  t.scan([], [a], 1000, STALL);
  assert.equal(t.recheck({ ...a, info: info(100, 20, 1, 1) }, 1070, STALL), null);
  t.scan([], [a], 1000, STALL);
  assert.equal(t.recheck(null, 1070, STALL), null);
  // Waiting in the accept queue since the scan at 2000 (no data): due at 2100, a sign if still not accepted.
  const w = new StallTracker();
  const q: ServedConnection = { peer: 'q', accepted: false, tuple };
  assert.equal(w.scan([], [q], 2000, STALL), null);
  assert.equal(w.scan([], [q], 2040, STALL), null);
  assert.equal(w.due?.at, 2100);
  assert.equal(w.recheck(q, 2101, STALL), 'a connection not accepted for 101 ms (from q)');
  w.scan([], [q], 2060, STALL);
  assert.equal(w.recheck({ ...q, accepted: true }, 2101, STALL), null, 'accepted meanwhile');
  // Without a tuple (a source that cannot look up) nothing is due.
  assert.equal(new StallTracker().scan([], [{ ...a, tuple: undefined }], 0, STALL), null);
});

const OPTS = HUNG_OPTS;
const started = startedRunner;

test('runner: a sign of a stall → probes now and every spacing, fall at once → down at timeout + spacing', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1200); // up at 0; probed at 1000
  assert.equal(r.state.state, 'up');
  s.hung = true;
  await clock.advance(100); // 1300
  r.suspect('a request unanswered for 120 ms');
  assert.equal(r.suspicion, 'a request unanswered for 120 ms, 0 ms ago');
  await clock.advance(400);
  // The fast interval is 50 ms, but two timeouts count only 100 ms apart (2/3 of the timeout).
  assert.deepEqual(s.starts.slice(2, 4), [1300, 1400], 'now, then one spacing later (two in flight)');
  assert.deepEqual(
    seen.slice(1).map((t) => [t.at, t.to, t.reason, t.detail]),
    [
      [
        1550,
        'down',
        'check-failed',
        'timeout after 150ms (after: a request unanswered for 120 ms, 250 ms ago)',
      ],
    ],
  );
  r.stop();
});

test('runner: false signs cost a window of fast probes, then fewer: about one window per interval', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1100);
  const before = s.starts.length;
  const SIGNS_MS = 8000;
  for (let t = 0; t < SIGNS_MS; t += 100) {
    r.suspect('a request unanswered for 100 ms'); // a long-poll service: a sign at every scan
    await clock.advance(100);
  }
  const starts = s.starts.slice(before);
  // Windows of 350 ms (timeout + fall × spacing of 100 ms), probes of a service that answers at once one
  // fast interval apart: the first at once (and the probe its last timer starts), the next held off
  // 250 ms (timeout + fall × fast) after it.
  assert.deepEqual(
    starts.filter((t) => t < 1700),
    [1100, 1150, 1200, 1250, 1300, 1350, 1400, 1450],
  );
  assert.equal(starts.filter((t) => t >= 1700 && t < 1750).length, 1, 'the next window at 1700');
  // Then the hold doubles up to one interval: one window (7 probes) and the probe after it per ~1.35 s
  // (about 17 in two intervals, against 2 at the interval alone).
  const last = starts.filter((t) => t >= 1100 + SIGNS_MS - 2 * OPTS.intervalMs);
  assert.ok(last.length <= 18, `${last.length} probes in the last two intervals`);
  assert.deepEqual(
    seen.map((t) => t.to),
    ['up'],
    'never down',
  );
  r.stop();
});

test('runner: a true sign right after a false one waits timeout + fall fast intervals at most', async () => {
  const { clock, s, seen, r } = started();
  await clock.advance(1100);
  r.suspect('a connection not accepted for 100 ms'); // the service waited for the CPU
  await clock.advance(400); // 1500: that window (1100..1450) passed
  s.hung = true;
  r.suspect('a request unanswered for 100 ms'); // held off until 1700
  assert.equal(r.suspicion, null);
  await clock.advance(200); // 1700
  r.suspect('a request unanswered for 300 ms');
  await clock.advance(300);
  assert.deepEqual(
    seen.slice(1).map((t) => [t.at, t.to, t.detail]),
    [[1950, 'down', 'timeout after 150ms (after: a request unanswered for 300 ms, 250 ms ago)']],
  );
  r.stop();
});

/** When the service stops in stallAfterFalseSigns(): in the hold after the false windows. */
const STOP_AT = 4500;

/**
 * A host loaded enough to give false signs at every scan (waits of 100..250 ms, each connection taken
 * in its turn) from 1100, then the service stops at STOP_AT: its connection's sign grows by 100 ms a
 * scan. `waits`: the signs carry their wait (else 0, as a 5xx sign does). Ms of the down transition.
 */
async function stallAfterFalseSigns(waits: boolean): Promise<number> {
  const { clock, s, seen, r } = started();
  await clock.advance(1100);
  for (let t = 1100; t < STOP_AT; t += 100) {
    const waited = 100 + (t % 400) / 2; // 100, 150, 200, 250, 100, …
    r.suspect(`a connection not accepted for ${waited} ms`, waits ? waited : 0);
    await clock.advance(100);
  }
  s.hung = true;
  for (let waited = 100; seen.length === 1 && waited < 2000; waited += 100) {
    await clock.advance(100);
    r.suspect(`a connection not accepted for ${waited} ms`, waits ? waited : 0);
  }
  await clock.advance(1000);
  r.stop();
  const down = seen.find((x) => x.to === 'down');
  assert.ok(down, 'down');
  return down.at;
}

test('runner: under false signs at every scan, a stall is seen once its wait outgrows theirs', async () => {
  // The stopped service's connection has waited 300 ms at 4800, longer than any false one did: a
  // window at once, down a spacing and a timeout later.
  assert.equal(await stallAfterFalseSigns(true), 4800 + 250);
  // The same signs without their waits are held to the end of the hold (one interval after the last
  // false window): the interval's probe at 5350 and the window's at 5450 fail at 5600.
  assert.equal(await stallAfterFalseSigns(false), 5600);
});

test('stall signs: the wait behind the last sign', () => {
  const w = new StallTracker();
  const q = waiting('q');
  w.scan([], [q], 1000, STALL);
  assert.equal(w.scan([], [q], 1130, STALL), 'a connection not accepted for 130 ms (from q)');
  assert.equal(w.signWaitMs, 130);
  assert.equal(w.scan([{ queued: 4, max: 4 }], [], 1200, STALL), 'accept queue full (4 of 4)');
  assert.equal(w.signWaitMs, 0, 'a full queue with no connection listed: no wait');
});
