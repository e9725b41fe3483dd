// The lab's generated anycastd configs: each host's is accepted by the real config loader, names the
// host as its local instance, peers with both ToRs in both families (the addresses and AS numbers of
// the addressing plan, the lab's timers), serves the VIP on the service's three ports with an instance
// on every host, keeps its drain file and API socket under the run directory, and authenticates the
// cluster channel with the lab's key file (privileged default port, so `check` has nothing to warn of).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AS_TOR, HOST_PLAN, HOSTS, SERVICE_PORTS, VIP4, VIP6 } from '../../lab/addressing.js';
import { HOST_UPLINKS, LAB_AGENT_TIMINGS, renderAgentConfig, SERVICE_NAME } from '../../lab/agent-config.js';
import { hostPeers, LAB_TIMERS } from '../../lab/peers.js';
import { parseConfig } from '../../src/config/index.js';
import { configWarnings } from '../../src/config/warnings.js';

const paths = (h: string) => ({
  config: `/r/${h}/a.yaml`,
  api: `/r/${h}/api.sock`,
  drainFile: `/r/${h}/drain`,
  clusterKey: '/r/cluster.key',
});

for (const host of HOSTS) {
  test(`${host}: the generated config loads and matches the addressing plan`, () => {
    const c = parseConfig(renderAgentConfig(host, paths(host)), `${host}.yaml`);
    assert.equal(c.node.id, host);
    assert.deepEqual(c.node.host, { ipv4: HOST_PLAN[host].lo4, ipv6: HOST_PLAN[host].lo6 });
    assert.equal(c.node.asn, HOST_PLAN[host].as);
    assert.deepEqual(c.node.uplinks, [...HOST_UPLINKS]);
    assert.deepEqual(
      c.peers.map((p) => [p.address, p.remoteAsn, p.holdTimeMs, p.keepaliveMs]),
      hostPeers(host).map((p) => [
        p.peerAddress,
        p.peerAs,
        LAB_TIMERS.holdS * 1000,
        LAB_TIMERS.keepaliveS * 1000,
      ]),
    );
    assert.deepEqual(new Set(c.peers.map((p) => p.remoteAsn)), new Set(Object.values(AS_TOR)));
    const svc = c.services[0]!;
    assert.equal(c.services.length, 1);
    assert.equal(svc.name, SERVICE_NAME);
    assert.equal(svc.localInstanceId, host);
    assert.deepEqual(svc.vips, [VIP4, VIP6]);
    assert.deepEqual(
      svc.ports.map((p) => `${p.protocol}/${p.port}`),
      [`tcp/${SERVICE_PORTS.tcp}`, `tcp/${SERVICE_PORTS.http}`, `udp/${SERVICE_PORTS.udp}`],
    );
    assert.deepEqual(
      svc.instances.map((i) => [i.id, i.host.ipv4]),
      HOSTS.map((h) => [h, HOST_PLAN[h].lo4]),
    );
    const check = svc.checks[0]!;
    assert.equal(check.type, 'tcp');
    assert.equal(check.intervalMs, LAB_AGENT_TIMINGS.checkIntervalMs);
    assert.equal(check.fall, LAB_AGENT_TIMINGS.fall);
    assert.equal(svc.drainFile, paths(host).drainFile);
    assert.equal(c.api.socket, paths(host).api);
    assert.equal(c.dataplane.xdpMode, 'native');
    assert.equal(c.cluster.keyFile, '/r/cluster.key', 'the cluster channel runs authenticated');
    assert.deepEqual(configWarnings(c), [], 'nothing for check to warn about');
  });
}
