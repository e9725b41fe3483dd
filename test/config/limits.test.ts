// The data plane's capacities in the config: a config at the limits loads, one over is refused by
// config load and `check` with the count and the limit named. The service count's limit (4096 services,
// seconds of YAML parsing): limits.slow.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_VIP_ENTRIES } from '../../src/config/limits.js';
import { parseConfig } from '../../src/config/load.js';
import { FILE, problem, withServices } from './many-services.js';

test(`${MAX_VIP_ENTRIES} VIP/port entries load; one more is refused naming the count and the limit`, () => {
  const side = Math.sqrt(MAX_VIP_ENTRIES); // 128 VIPs × 128 ports
  const cfg = parseConfig(withServices(1, side, side), FILE);
  assert.equal(cfg.services[0]!.vips.length * cfg.services[0]!.ports.length, MAX_VIP_ENTRIES);
  const msg = problem(withServices(1, side, side + 1));
  assert.match(
    msg,
    new RegExp(`services: expected at most ${MAX_VIP_ENTRIES} VIP/port entries .*found ${side * (side + 1)}`),
  );
});

test('max_services below the configured services is refused naming both', () => {
  const text = withServices(20, 1, 1).replace('dataplane:', 'dataplane:\n  max_services: 16');
  assert.match(
    problem(text),
    /dataplane\.max_services: expected room for the 20 configured services .*found 16/,
  );
});
