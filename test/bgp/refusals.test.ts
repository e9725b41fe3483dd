// The refused-connection log (refusals.ts, the per-key limit of src/log/limited-log.ts with `carry`) on a
// hand-moved clock: a flood from one address is one line at once plus one line per interval carrying the
// count not logged; quiet addresses are forgotten; the table of addresses is bounded and the rest share
// one "other" line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER_ADDRESSES, type RefusalLine, RefusalLog } from '../../src/bgp/refusals.js';
import { FakeClock } from '../helpers/fake-clock.js';

const INTERVAL_MS = 50;

test('2,000 refusals from one address: one line at once, one with the suppressed count per interval', () => {
  const clock = new FakeClock();
  const lines: RefusalLine[] = [];
  const log = new RefusalLog((l) => lines.push(l), { intervalMs: INTERVAL_MS }, clock);
  for (let i = 0; i < 2000; i++) log.refuse('198.51.100.200');
  assert.deepEqual(lines, [{ address: '198.51.100.200', suppressed: 0 }]);
  clock.advanceSync(INTERVAL_MS - 1);
  assert.equal(lines.length, 1, 'nothing more before the interval ends');
  clock.advanceSync(1);
  assert.deepEqual(lines.slice(1), [{ address: '198.51.100.200', suppressed: 1999 }]);
  // Still refused in the next interval: counted, the next line only at its end.
  log.refuse('198.51.100.200');
  assert.equal(lines.length, 2);
  clock.advanceSync(INTERVAL_MS);
  assert.deepEqual(lines.slice(2), [{ address: '198.51.100.200', suppressed: 1 }]);
  // A quiet interval: forgotten (no timer left), so the next refusal is logged at once again.
  clock.advanceSync(INTERVAL_MS);
  assert.equal(clock.pending, 0, 'no timer while nothing is held');
  assert.equal(lines.length, 3, 'a quiet interval writes nothing');
  log.refuse('198.51.100.200');
  assert.deepEqual(lines.slice(3), [{ address: '198.51.100.200', suppressed: 0 }]);
  assert.equal(log.total, 2002);
  log.close();
  assert.equal(clock.pending, 0);
});

test('many source addresses: the table stays at its size, the rest share one "other" line', () => {
  const clock = new FakeClock();
  const lines: RefusalLine[] = [];
  const log = new RefusalLog((l) => lines.push(l), { intervalMs: INTERVAL_MS, maxAddresses: 8 }, clock);
  for (let i = 0; i < 1000; i++) log.refuse(`2001:db8::${i.toString(16)}`);
  assert.equal(lines.length, 9, 'one line per tracked address, one for the rest');
  assert.deepEqual(lines[8], { address: OTHER_ADDRESSES, suppressed: 0 });
  clock.advanceSync(INTERVAL_MS);
  assert.deepEqual(lines.slice(9), [{ address: OTHER_ADDRESSES, suppressed: 991 }]);
  // The flood goes on from new addresses: the quiet ones were forgotten, "other" (still busy) keeps its
  // place in the table, so 7 new ones get a line and the rest are only counted until the interval ends.
  for (let i = 1000; i < 3000; i++) log.refuse(`2001:db8::${i.toString(16)}`);
  assert.equal(lines.length, 10 + 7);
  clock.advanceSync(INTERVAL_MS);
  assert.deepEqual(lines.slice(17), [{ address: OTHER_ADDRESSES, suppressed: 1993 }]);
  assert.equal(log.total, 3000);
  log.close();
  assert.equal(clock.pending, 0);
});
