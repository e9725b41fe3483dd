// Configs for the limit tests: BASE with many generated services, and the config error a text raises.
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { BASE, variant } from './fixtures.js';

export const FILE = '/etc/anycastd/limits.yaml';
const WEB = BASE.slice(BASE.indexOf('  - name: web'), BASE.indexOf('dataplane:'));

/** BASE with `n` services (web0…), each with `vips` VIPs and `ports` ports. */
export function withServices(n: number, vips: number, ports: number): string {
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

export const problem = (text: string): string => {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  return '';
};
