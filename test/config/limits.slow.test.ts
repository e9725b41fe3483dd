// The service count's limit in the config: MAX_SERVICES services load, one more is refused naming the
// count and the limit. Seconds of YAML parsing, so outside the unit tier; the other limits: limits.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SERVICES } from '../../src/config/limits.js';
import { parseConfig } from '../../src/config/load.js';
import { FILE, problem, withServices } from './many-services.js';

test(`${MAX_SERVICES} services load; one more is refused naming the count and the limit`, () => {
  assert.equal(parseConfig(withServices(MAX_SERVICES, 2, 1), FILE).services.length, MAX_SERVICES);
  assert.match(
    problem(withServices(MAX_SERVICES + 1, 2, 1)),
    new RegExp(`services: expected at most ${MAX_SERVICES} services .*found ${MAX_SERVICES + 1}`),
  );
});
