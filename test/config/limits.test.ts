// The data plane's capacities in the config: a config at the limits loads, one over is refused by
// config load and `check` with the count and the limit named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_SERVICES, MAX_VIP_ENTRIES } from '../../src/config/limits.js';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { BASE, variant } from './fixtures.js';

const FILE = '/etc/anycastd/limits.yaml';
const WEB = BASE.slice(BASE.indexOf('  - name: web'), BASE.indexOf('dataplane:'));

/** BASE with `n` services (web0…), each with `vips` VIPs and `ports` ports. */
function withServices(n: number, vips: number, ports: number): string {
  const addrs = (i: number): string =>
    Array.from(
      { length: vips },
      (_, j) => `203.0.${113 - Math.floor((i * vips + j) / 256)}.${(i * vips + j) % 256}`,
    ).join(', ');
  const portList = Array.from({ length: ports }, (_, j) => `{ protocol: tcp, port: ${1000 + j} }`).join(', ');
  const services = Array.from({ length: n }, (_, i) =>
    WEB.replace('name: web', `name: web${i}`)
      .replace('vips: [203.0.113.10]', `vips: [${addrs(i)}]`)
      .replace('ports: [{ protocol: tcp, port: 80 }]', `ports: [${portList}]`),
  ).join('');
  return variant(WEB, services);
}

const problem = (text: string): string => {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  return '';
};

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

test(`${MAX_SERVICES} services load; one more is refused naming the count and the limit`, () => {
  assert.equal(parseConfig(withServices(MAX_SERVICES, 2, 1), FILE).services.length, MAX_SERVICES);
  assert.match(
    problem(withServices(MAX_SERVICES + 1, 2, 1)),
    new RegExp(`services: expected at most ${MAX_SERVICES} services .*found ${MAX_SERVICES + 1}`),
  );
});

test('max_services below the configured services is refused naming both', () => {
  const text = withServices(20, 1, 1).replace('dataplane:', 'dataplane:\n  max_services: 16');
  assert.match(
    problem(text),
    /dataplane\.max_services: expected room for the 20 configured services .*found 16/,
  );
});
