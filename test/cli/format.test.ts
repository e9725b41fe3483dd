// The human output: aligned tables (numbers right-aligned), durations, and the views of replies that
// have no process test of their own (an empty ring, a recent transition).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duration, since, table } from '../../src/cli/format.js';
import { ringsText, servicesText } from '../../src/cli/show.js';

test('tables align text left and numbers right; durations use the two largest units', () => {
  const rows = [
    { name: 'a', n: 5 },
    { name: 'long-name', n: 1234 },
  ];
  assert.equal(
    table(rows, [
      { header: 'NAME', value: (r) => r.name },
      { header: 'N', value: (r) => r.n },
    ]),
    'NAME          N\na             5\nlong-name  1234',
  );
  assert.deepEqual(
    [duration(0), duration(59), duration(61), duration(3 * 86_400 + 4 * 3600 + 5)],
    ['0s', '59s', '1m1s', '3d4h'],
  );
  assert.equal(since(0), '-');
  assert.equal(since(100, 190), '1m30s');
});

test('an empty ring still shows; a transition shows its reason and age', () => {
  const rings = ringsText({ rings: [{ service: 'web', kind: 'new', size: 251, shares: [] }] });
  assert.match(rings, /^web +new +251 +- +0 +0\.0%$/m);
  const svc = servicesText({
    services: [
      {
        name: 'web',
        state: 'down',
        announced: false,
        drained: false,
        vips: ['192.0.2.10', '2001:db8::10'],
        instancesHealthy: 1,
        instancesTotal: 3,
        lastReason: 'socket-gone',
        lastChange: Date.now() / 1000 - 125,
        lastCheck: 'tcp#0',
        lastDetail: 'no listener on 192.0.2.10:80',
      },
    ],
  });
  assert.match(
    svc,
    /^web +down +no +no +1\/3 +192\.0\.2\.10,2001:db8::10 +socket-gone tcp#0: no listener on 192\.0\.2\.10:80 \(2m5s ago\)$/m,
  );
});
