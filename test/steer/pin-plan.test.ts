// What a start does with pins of each layout (src/steer/pin-plan.ts): adopt, migrate, make anew, or
// refuse before anything changes. Pure; test/steer/upgrade.root.test.ts does it on a real kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AnycastdError } from '../../src/errors.js';
import { type MapShape, planPins } from '../../src/steer/pin-plan.js';

const ARRAY = 2;
const LRU_HASH = 9;
const flows = (valueSize: number, maxEntries = 131072): MapShape => ({
  type: LRU_HASH,
  keySize: 40,
  valueSize,
  maxEntries,
});
const info: MapShape = { type: ARRAY, keySize: 4, valueSize: 16, maxEntries: 1 };
const V1 = new Map([
  ['flows', flows(8)],
  ['pin_layout', info],
]);
const V2 = new Map([
  ['flows', flows(16)],
  ['pin_layout', info],
  ['next_extra', { type: ARRAY, keySize: 4, valueSize: 8, maxEntries: 1 }],
]);
const refused = (re: RegExp) => (err: AnycastdError) => err.code === 'ERR_PIN_LAYOUT' && re.test(err.message);

test('no pins: every map made; pins of the same layout: every map adopted', () => {
  assert.deepEqual(planPins('/p', new Map(), null, V1, { version: 1, compat: 1 }), {
    pinnedVersion: null,
    adopt: [],
    migrate: [],
    create: ['flows', 'pin_layout'],
    stale: [],
  });
  const same = planPins('/p', V1, 1, V1, { version: 1, compat: 1 });
  assert.deepEqual([same.adopt, same.migrate, same.create], [['flows', 'pin_layout'], [], []]);
});

test('an older layout within compat: a widened value is migrated, a new map made, a dropped one stale', () => {
  const old = new Map([...V1, ['gone', info]]);
  const plan = planPins('/p', old, 1, V2, { version: 2, compat: 1 });
  assert.deepEqual(plan, {
    pinnedVersion: 1,
    adopt: ['pin_layout'],
    migrate: ['flows'],
    create: ['next_extra'],
    stale: ['gone'],
  });
  // pins without pin_layout are layout 1
  assert.equal(
    planPins('/p', new Map([['flows', flows(8)]]), null, V2, { version: 2, compat: 1 }).pinnedVersion,
    1,
  );
  // a larger capacity is migrated too
  const bigger = new Map([['flows', flows(8, 1 << 20)]]);
  assert.deepEqual(planPins('/p', V1, 1, bigger, { version: 2, compat: 1 }).migrate, ['flows']);
});

test('refused, naming both layouts and the map: newer pins, older than compat, a shape no migration makes', () => {
  assert.throws(
    () => planPins('/p', V2, 2, V1, { version: 1, compat: 1 }),
    refused(
      /^pinned maps in \/p are layout 2, this program's is 1 .*left by a newer agent; nothing was changed/,
    ),
  );
  assert.throws(() => planPins('/p', V1, 1, V2, { version: 3, compat: 2 }), refused(/too old to migrate/));
  const narrower = new Map([['flows', flows(4)]]);
  assert.throws(
    () => planPins('/p', V1, 1, narrower, { version: 2, compat: 1 }),
    refused(
      /map flows is pinned as type 9, key 40 B, value 8 B, 131072 entries, the program wants .*value 4 B/,
    ),
  );
  const otherType = new Map([['flows', { ...flows(8), type: 1 }]]);
  assert.throws(() => planPins('/p', V1, 1, otherType, { version: 2, compat: 1 }), refused(/map flows/));
  // the same version with another shape is not ours to migrate
  assert.throws(
    () => planPins('/p', V1, 1, new Map([['flows', flows(16)]]), { version: 1, compat: 1 }),
    refused(/map flows/),
  );
});

test('a resizable map pinned at another capacity is migrated at the same layout (grown or shrunk); others refused', () => {
  const resizable = new Set(['flows']);
  const at = (n: number) => new Map([...V1, ['flows', flows(8, n)]]);
  for (const n of [1 << 20, 4096]) {
    const plan = planPins('/p', V1, 1, at(n), { version: 1, compat: 1 }, resizable);
    assert.deepEqual([plan.adopt, plan.migrate], [['pin_layout'], ['flows']], `to ${n}`);
  }
  assert.throws(
    () => planPins('/p', V1, 1, at(1 << 20), { version: 1, compat: 1 }),
    refused(/map flows is pinned as .*131072 entries, the program wants .*1048576 entries/),
    'not resizable: refused as before',
  );
  const wider = new Map([...V1, ['flows', flows(16, 1 << 20)]]);
  assert.throws(
    () => planPins('/p', V1, 1, wider, { version: 1, compat: 1 }, resizable),
    refused(/map flows/),
    'a resize never excuses another change under the same version',
  );
});
