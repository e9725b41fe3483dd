// The XDP smoke demo runs end to end and leaves no namespace behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { xdpSmoke } from '../../src/demo/xdp-smoke.js';
import { listNetns } from '../helpers/netns.js';

test('xdpSmoke reports every step, sees the map-driven verdicts, and cleans up', async () => {
  const lines: string[] = [];
  await xdpSmoke((line) => lines.push(line));
  const text = lines.join('\n');
  assert.match(text, /attached natively .* mode native/);
  assert.match(text, /frame key 0: XDP_PASS, byte 0 now 0x42/);
  assert.match(text, /frame key 7: XDP_TX/);
  assert.match(text, /frame key 8: XDP_DROP/);
  assert.match(text, /detached .* mode now none/);
  assert.deepEqual(listNetns(`acd-demo-${process.pid}-`), []);
});
