// An ApiHandler over the real parts the tests can run alone: the ops testbed's Dataplane (rings, flows),
// a real ConfigStore (reload from a file, rejected whole when invalid), and the drain flags of the
// services. Peers come from the config in state idle (no speaker runs here).
import { writeFileSync } from 'node:fs';
import { flowsOf, ringsOf } from '../../src/api/dataplane-views.js';
import { ApiError, type ApiHandler } from '../../src/api/types.js';
import { publicView } from '../../src/config/public-view.js';
import { ConfigStore } from '../../src/config/reload.js';
import { CONFIG_YAML, type Testbed } from '../metrics/fixture.js';

export function testbedHandler(bed: Testbed, configFile: string): ApiHandler & { drained: Set<string> } {
  writeFileSync(configFile, CONFIG_YAML);
  const store = new ConfigStore({ ...bed.config, file: configFile });
  const drained = new Set<string>();
  const service = (name: string) => {
    const i = store.current.services.findIndex((s) => s.name === name);
    if (i < 0) throw new ApiError('NOT_FOUND', `no service named ${name}`);
    return { svc: store.current.services[i]!, id: i };
  };
  const services = (name: string) =>
    name === '' ? store.current.services.map((s) => s.name) : [service(name).svc.name];
  return {
    drained,
    status: () => ({
      nodeId: store.current.node.id,
      version: '0.1.0',
      startedAt: 1_700_000_000,
      configFile: store.current.file,
      configLoadedAt: 1_700_000_001,
      ready: true,
      peersEstablished: 0,
      peersTotal: store.current.peers.length,
      servicesUp: store.current.services.length - drained.size,
      servicesTotal: store.current.services.length,
    }),
    peers: () => ({
      peers: store.current.peers.map((p) => ({
        name: p.name,
        address: p.address ?? `interface:${p.interface}`,
        remoteAsn: p.remoteAsn,
        state: 'idle',
        establishedSince: 0,
        flaps: 0,
        prefixesAdvertised: 0,
        prefixesReceived: 0,
        prefixesAccepted: 0,
        lastError: '',
        bfd: '',
        link: '',
        routesRejected: [
          { reason: 'nexthop-own-address', count: p.name === 'tor1' ? 1 : 0 },
          { reason: 'nexthop-not-on-link', count: 0 },
        ],
      })),
    }),
    services: () => ({
      services: store.current.services.map((s) => ({
        name: s.name,
        state: drained.has(s.name) ? 'down' : 'up',
        announced: !drained.has(s.name),
        drained: drained.has(s.name),
        vips: s.vips,
        instancesHealthy: s.instances.length,
        instancesTotal: s.instances.length,
        lastReason: drained.has(s.name) ? 'drained' : 'rise-reached',
        lastChange: 0,
        lastCheck: '',
        lastDetail: '',
      })),
    }),
    instances: ({ service: name }) => ({
      instances: services(name).flatMap((n) => {
        const { svc, id } = service(n);
        const share = new Map(ringsOf(bed.dp, id, n)[0]?.shares.map((s) => [s.instance, s.share]) ?? []);
        return svc.instances.map((i) => ({
          service: n,
          id: i.id,
          address: i.host.ipv4 ?? i.host.ipv6 ?? '',
          weight: i.weight,
          local: i.id === svc.localInstanceId,
          health: 'up',
          inRing: share.has(`${n}/${i.id}`),
          share: share.get(`${n}/${i.id}`) ?? 0,
          inNew: share.has(`${n}/${i.id}`),
          inEstablished: false,
          reported: i.id === svc.localInstanceId ? '' : 'drained',
        }));
      }),
    }),
    rings: ({ service: name }) => ({
      rings: services(name).flatMap((n) => ringsOf(bed.dp, service(n).id, n)),
    }),
    flows: ({ vip, limit }) => {
      if (!store.current.services.some((s) => s.vips.includes(vip)))
        throw new ApiError('NOT_FOUND', `no VIP ${vip}`);
      return flowsOf(bed.dp, vip, limit || undefined);
    },
    drain: ({ service: name }) => {
      service(name);
      const changed = !drained.has(name);
      drained.add(name);
      return { changed, message: changed ? `${name} drained` : `${name} was already drained` };
    },
    undrain: ({ service: name }) => {
      service(name);
      const changed = drained.delete(name);
      return { changed, message: changed ? `${name} undrained` : `${name} was not drained` };
    },
    reload: async () => {
      const r = await store.reload();
      if (!r.ok) throw new ApiError('INVALID_CONFIG', r.error.message);
      return {
        changed: !r.diff.empty,
        changes: r.diff.services.changed.map((c) => `service ${c.name} changed`),
      };
    },
    peer: () => {
      throw new ApiError('UNAVAILABLE', 'no BGP speaker in this testbed');
    },
    peerReset: () => {
      throw new ApiError('UNAVAILABLE', 'no BGP speaker in this testbed');
    },
    config: () => ({
      file: store.current.file,
      json: JSON.stringify(publicView(store.current)),
      loadedAt: 1_700_000_001,
    }),
    checks: ({ service: name }) => ({
      checks: services(name).flatMap((n) =>
        service(n).svc.checks.map((c, i) => ({
          service: n,
          instance: service(n).svc.localInstanceId,
          local: true,
          name: `${c.type}#${i}`,
          type: c.type,
          state: 'down',
          lastResult: 'failed',
          reason: 'exit 1',
          latencySeconds: 0.012,
          lastRun: 1_700_000_002,
          successes: 0,
          failures: 3,
          held: false,
          output: 'backend pool empty\nretry later',
          suspicion: '',
        })),
      ),
    }),
    routes: () => ({
      routes: store.current.services.flatMap((s) =>
        drained.has(s.name)
          ? []
          : s.vips.map((v) => ({
              prefix: `${v}/32`,
              direction: 'advertised',
              peer: '',
              nextHop: store.current.node.host.ipv4 ?? '',
              service: s.name,
              med: 0,
              asPath: '',
              communities: [],
              best: true,
            })),
      ),
    }),
  };
}
