// The per-key line limit of the cluster endpoint on a hand-moved clock: the first line of a key at once,
// the rest counted into one `suppressed` line when the interval ends, keys past the table's size sharing
// one `other` line, a new interval after a quiet one, and close() writing what is held back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LimitedLog, OTHER_KEY } from '../../src/log/limited-log.js';
import { FakeClock } from '../helpers/fake-clock.js';

const INTERVAL_MS = 60_000;
const MAX_KEYS = 3;

function setup() {
  const clock = new FakeClock();
  const lines: Record<string, unknown>[] = [];
  const log = new LimitedLog((fields) => lines.push(fields), INTERVAL_MS, MAX_KEYS, clock);
  const refused = (address: string) => log.note(address, { reason: 'not-configured', address });
  return { clock, lines, log, refused };
}

test('the first line of a key at once, the rest as one count when the interval ends', async () => {
  const { clock, lines, refused } = setup();
  for (let i = 0; i < 1_000; i++) refused('192.0.2.7');
  refused('192.0.2.8');
  assert.deepEqual(lines, [
    { reason: 'not-configured', address: '192.0.2.7' },
    { reason: 'not-configured', address: '192.0.2.8' },
  ]);
  await clock.advance(INTERVAL_MS - 1);
  assert.equal(lines.length, 2, 'nothing more before the interval ends');
  await clock.advance(1);
  assert.deepEqual(lines.slice(2), [{ reason: 'not-configured', address: '192.0.2.7', suppressed: 999 }]);
  assert.equal(clock.pending, 0, 'no timer while nothing is held');
  refused('192.0.2.7');
  assert.deepEqual(lines.at(-1), { reason: 'not-configured', address: '192.0.2.7' }, 'a new interval');
});

test('keys past the table share one line; close writes what is held back', () => {
  const { clock, lines, log, refused } = setup();
  for (let a = 1; a <= 50; a++) for (let i = 0; i < 2; i++) refused(`198.51.100.${a}`);
  assert.deepEqual(
    lines.map((l) => l.address),
    ['198.51.100.1', '198.51.100.2', '198.51.100.3', OTHER_KEY],
  );
  log.close();
  assert.deepEqual(
    lines.slice(4).map((l) => [l.address, l.suppressed]),
    [
      ['198.51.100.1', 1],
      ['198.51.100.2', 1],
      ['198.51.100.3', 1],
      [OTHER_KEY, 2 * 47 - 1],
    ],
  );
  assert.equal(clock.pending, 0);
});
