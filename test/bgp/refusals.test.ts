// The refused-connection log (refusals.ts): a flood from one address is one line at once plus one
// line per interval carrying the count not logged; quiet addresses are forgotten; the table of
// addresses is bounded and the rest are summed under "other". Real timers with a short interval.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OTHER_ADDRESSES, type RefusalLine, RefusalLog } from '../../src/bgp/refusals.js';

const INTERVAL_MS = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('2,000 refusals from one address: one line at once, one with the suppressed count per interval', async () => {
  const lines: RefusalLine[] = [];
  const log = new RefusalLog((l) => lines.push(l), { intervalMs: INTERVAL_MS });
  for (let i = 0; i < 2000; i++) log.refuse('198.51.100.200');
  assert.deepEqual(lines, [{ address: '198.51.100.200', suppressed: 0 }]);
  await sleep(INTERVAL_MS * 1.5);
  assert.deepEqual(lines.slice(1), [{ address: '198.51.100.200', suppressed: 1999 }]);
  // Still refused in the next interval: counted, the next line only at its end.
  log.refuse('198.51.100.200');
  assert.equal(lines.length, 2);
  await sleep(INTERVAL_MS * 1.5);
  assert.deepEqual(lines.slice(2), [{ address: '198.51.100.200', suppressed: 1 }]);
  // A quiet interval: forgotten, so the next refusal is logged at once again.
  await sleep(INTERVAL_MS * 2.5);
  log.refuse('198.51.100.200');
  assert.deepEqual(lines.slice(3), [{ address: '198.51.100.200', suppressed: 0 }]);
  assert.equal(log.total, 2002);
  log.close();
});

test('many source addresses: the table stays at its size, the rest are summed under "other"', async () => {
  const lines: RefusalLine[] = [];
  const log = new RefusalLog((l) => lines.push(l), { intervalMs: INTERVAL_MS, maxAddresses: 8 });
  for (let i = 0; i < 1000; i++) log.refuse(`2001:db8::${i.toString(16)}`);
  assert.equal(lines.length, 8, 'one line per tracked address');
  await sleep(INTERVAL_MS * 1.5);
  assert.deepEqual(lines.slice(8), [{ address: OTHER_ADDRESSES, suppressed: 992 }]);
  assert.equal(log.total, 1000);
  log.close();
});
