// The ops test bed shared by the metrics, API and CLI tests: a config with two peers and two services,
// and a real Dataplane (not pinned) loaded with that config's VIPs, instances and rings, so packets run
// through BPF_PROG_TEST_RUN raise real per-CPU counters.
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import type { CountedVip } from '../../src/metrics/dataplane-source.js';
import { vipLabelsOf } from '../../src/metrics/label-sets.js';
import { Dataplane } from '../../src/steer/dataplane.js';

export const HOST4 = '198.51.100.1';
export const REMOTE4 = '198.51.100.2';
export const CLIENT4 = '203.0.113.7';
export const WEB_VIP = '192.0.2.10';
export const DNS_VIP = '192.0.2.11';

export const CONFIG_YAML = `node:
  id: h1
  host: { ipv4: ${HOST4} }
  asn: 4200000011
  uplinks: [eth0, eth1]
bgp:
  peers:
    - name: tor1
      address: 203.0.113.1
      remote_asn: 65001
    - name: tor2
      address: 203.0.113.2
      remote_asn: 65002
services:
  - name: web
    vips: [${WEB_VIP}]
    ports: [{ protocol: tcp, port: 80 }]
    instances:
      - { id: h1, host: { ipv4: ${HOST4} } }
      - { id: h2, host: { ipv4: ${REMOTE4} } }
    checks:
      - { type: tcp, port: 80, interval: 1s }
      - { type: http, port: 80, path: /health, interval: 1s }
  - name: dns
    vips: [${DNS_VIP}]
    ports: [{ protocol: udp, port: 53 }]
    instances:
      - { id: h2, host: { ipv4: ${REMOTE4} } }
      - { id: h1, host: { ipv4: ${HOST4} } }
    checks:
      - { type: dns, port: 53, query: example.org, interval: 1s }
`;

export function testConfig(): Config {
  return parseConfig(CONFIG_YAML, '/etc/anycastd/test.yaml');
}

export interface Testbed {
  config: Config;
  dp: Dataplane;
  vips: CountedVip[];
  close(): void;
}

/** A loaded Dataplane with every service's instances in its `new` ring (ids `<service>/<instance>`). */
export function openTestbed(config: Config = testConfig()): Testbed {
  const dp = Dataplane.open({ pin: false, host4: config.node.host.ipv4 ?? undefined });
  try {
    const vips: CountedVip[] = [];
    config.services.forEach((svc, serviceId) => {
      dp.setServiceMembers(
        serviceId,
        svc.instances.map((i) => ({
          id: `${svc.name}/${i.id}`,
          host4: i.host.ipv4 ?? undefined,
          local: i.id === svc.localInstanceId,
        })),
      );
      for (const v of vipLabelsOf(svc)) vips.push({ ...v, vipId: vips.length });
    });
    dp.setVips(
      vips.map((v) => ({ ...v, proto: v.protocol, addr: v.vip, serviceId: serviceIdOf(config, v.service) })),
    );
    return { config, dp, vips, close: () => dp.close() };
  } catch (err) {
    dp.close();
    throw err;
  }
}

function serviceIdOf(config: Config, name: string): number {
  return config.services.findIndex((s) => s.name === name);
}
