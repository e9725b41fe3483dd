// Steering over a real (unpinned) Dataplane: the established ring's join grace, and that an unchanged
// ring is never rewritten — a write flips to the kind's other slot, which the program's second chance
// reads as the previous ring (bpf/rings.h), so an identical write would throw that ring away.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Steering } from '../../src/agent/steering.js';
import { parseConfig } from '../../src/config/load.js';
import { Dataplane } from '../../src/steer/dataplane.js';
import { RING_KIND_ESTABLISHED, RING_KIND_NEW, RING_SLOTS } from '../../src/steer/layout.js';

const service = parseConfig(
  `node: { id: h1, host: { ipv4: 192.0.2.11 }, asn: 65101, uplinks: [lo] }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: 192.0.2.11 } }
      - { id: h2, host: { ipv4: 192.0.2.12 } }
      - { id: h3, host: { ipv4: 192.0.2.13 } }
    checks: [{ type: tcp, port: 80 }]
    join_grace: 150ms
`,
  '/test/steering.yaml',
).services[0]!;

test('an unchanged ring is not rewritten; a joiner held by the join grace keeps the previous ring', async () => {
  const dp = Dataplane.open({ pin: false, host4: '192.0.2.11', ringSize: 101 });
  try {
    const steering = new Steering(dp);
    steering.setServices([service]);
    const id = steering.serviceId('web')!;
    const active = (kind: number) => dp.state.services.get(id)![kind]!;
    const ringIn = (slot: number) => [...(dp.state.rings.get(id * RING_SLOTS + slot) ?? [])];
    // the first write admits everyone but this host's own instance: no adopted maps, a newcomer
    steering.setRing(service, 'established', ['h1', 'h2']);
    steering.setRing(service, 'new', ['h1', 'h2']);
    assert.deepEqual(Object.keys(steering.shares('web').established), ['h2']);
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2']);
    steering.setRing(service, 'established', ['h1', 'h2']);
    const est = active(RING_KIND_ESTABLISHED);
    const first = ringIn(est);
    steering.setRing(service, 'established', ['h1', 'h2']);
    const fresh = active(RING_KIND_NEW);
    steering.setRing(service, 'new', ['h1', 'h2']);
    assert.equal(active(RING_KIND_NEW), fresh, 'the same new ring: no flip');
    assert.equal(active(RING_KIND_ESTABLISHED), est, 'the same established ring: no flip');
    steering.setRing(service, 'established', ['h1', 'h2', 'h3']); // h3 joins: held for 150 ms
    assert.equal(active(RING_KIND_ESTABLISHED), est, 'the admitted set did not change: no write, no flip');
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2']);
    await new Promise((r) => setTimeout(r, 250));
    assert.notEqual(active(RING_KIND_ESTABLISHED), est, 'h3 admitted after its join grace: written');
    assert.deepEqual(ringIn(est), first, 'the slot it replaced still holds the ring of h1 and h2');
    assert.deepEqual(Object.keys(steering.shares('web').established).sort(), ['h1', 'h2', 'h3']);
  } finally {
    dp.close();
  }
});
