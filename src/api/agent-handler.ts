// The control API's handler over a running agent (OpsParts, agent-view.ts): status,
// peers from the speaker's snapshot, services and instances from the agent's status(), rings and flows
// read from the data plane, drain/undrain/reload passed to the agent, and the routes it advertises.
import { isIPv4 } from 'node:net';
import { worseAttributes } from '../agent/routes.js';
import type { ExportAttributes } from '../bgp/announcer.js';
import type { PeerStatus, ReceivedRoute } from '../bgp/speaker-status.js';
import type { RegisteredInfo } from '../cluster/etcd/etcd-cluster.js';
import { publicView } from '../config/public-view.js';
import type { Config } from '../config/types.js';
import { AnycastdError } from '../errors.js';
import type { LastChange, OpsParts } from './agent-view.js';
import { checksOf } from './checks-view.js';
import { flowsOf, ringsOf } from './dataplane-views.js';
import { ringDigests } from './store-views.js';
import { ApiError, type ApiHandler, type PeerInfo, type RouteInfo } from './types.js';

const MS_PER_SECOND = 1000;
const HOST_LEN = { 4: 32, 6: 128 } as const;
const seconds = (ms: number): number => ms / MS_PER_SECOND;
const hostPrefix = (a: string): string => `${a}/${isIPv4(a) ? HOST_LEN[4] : HOST_LEN[6]}`;
const COMMUNITY_HALF = 16;
const COMMUNITY_MASK = 0xffff;
/** RFC 1997 text form "AS:value". */
const communityText = (c: number): string => `${c >>> COMMUNITY_HALF}:${c & COMMUNITY_MASK}`;

/** A route of a peer's Adj-RIB-In as `show routes` lists it. */
export function receivedRouteInfo(r: ReceivedRoute): RouteInfo {
  return {
    prefix: r.prefix,
    direction: 'received',
    peer: r.peer,
    nextHop: r.nextHop,
    service: '',
    med: r.med ?? 0,
    asPath: r.asPath.join(' '),
    communities: r.communities.map(communityText),
    best: r.used && !r.stale,
  };
}

function serviceOf(config: Config, name: string): Config['services'][number] {
  const s = config.services.find((x) => x.name === name);
  if (!s) throw new ApiError('NOT_FOUND', `no service named ${name}`);
  return s;
}

export interface AgentHandlerState {
  /** Service → last transition of its local instance. */
  lastChange: ReadonlyMap<string, LastChange>;
  /** Unix ms the running config was loaded. */
  configLoadedAt(): number;
}

/** "up 100ms x3" (interval and multiplier in force), or the state and our last diagnostic. */
export function bfdSummary(b: NonNullable<PeerStatus['bfd']>): string {
  if (b.state === 'up') return `up ${b.txIntervalMs}ms x${b.detectMult}`;
  return b.localDiag === 'none' ? b.state : `${b.state} (${b.localDiag})`;
}

export function agentHandler(parts: OpsParts, st: AgentHandlerState): ApiHandler {
  const { agent } = parts;
  const peerInfo = (p: PeerStatus, now: number): PeerInfo => ({
    name: p.name,
    address: p.address ?? `interface:${p.interface ?? ''}`,
    remoteAsn: p.remoteAsn,
    state: p.state,
    establishedSince: p.uptimeMs === null ? 0 : seconds(now - p.uptimeMs),
    flaps: p.flaps,
    prefixesAdvertised: p.prefixesAdvertised,
    prefixesReceived: p.prefixesReceived,
    prefixesAccepted: p.prefixesAccepted,
    lastError: p.lastNotificationIn ?? p.lastNotificationOut ?? '',
    bfd: p.bfd ? bfdSummary(p.bfd) : '',
    link: p.linkUp === undefined ? '' : p.linkUp ? 'up' : 'down',
    routesRejected: Object.entries(p.routesRejected).map(([reason, count]) => ({ reason, count })),
  });
  const peers = (): PeerInfo[] => {
    const now = Date.now();
    return (parts.peers?.() ?? []).map((p) => peerInfo(p, now));
  };
  const peerNamed = <T>(name: string, f: ((name: string) => T | undefined) | undefined): T => {
    if (!f) throw new ApiError('UNAVAILABLE', 'the BGP speaker is not running');
    const found = f(name);
    if (found === undefined) throw new ApiError('NOT_FOUND', `no peer named ${name}`);
    return found;
  };
  const names = (service: string): string[] =>
    service === '' ? agent.config.services.map((s) => s.name) : [serviceOf(agent.config, service).name];
  const dataplane = () => {
    const dp = parts.steering?.dataplane;
    if (!dp) throw new ApiError('UNAVAILABLE', 'the data plane is not running');
    return dp;
  };
  const control = async (verb: 'drain' | 'undrain', service: string, instance = '') => {
    const cfg = serviceOf(agent.config, service);
    if (instance !== '' && instance !== cfg.localInstanceId) {
      // another host's instance: only the store can carry the drain to its agent
      if (!parts.store)
        throw new ApiError(
          'UNAVAILABLE',
          `draining another host's instance needs cluster.backend etcd (${instance})`,
        );
      await parts.store.setDrain(service, instance, verb === 'drain');
      return { changed: true, message: `${service}/${instance} ${verb} written to etcd` };
    }
    const before = agent.status().services.find((s) => s.name === service)?.drained;
    try {
      agent[verb](service);
    } catch (err) {
      if (err instanceof AnycastdError && err.code === 'ERR_INVALID_ARGUMENT')
        throw new ApiError('NOT_FOUND', err.message);
      throw err;
    }
    // this host's own instance: the flag here at once (etcd away must not block a drain), then the store
    let note = '';
    if (parts.store)
      await parts.store.setDrain(service, cfg.localInstanceId, verb === 'drain').catch((err: Error) => {
        note = ` (not written to etcd: ${err.message})`;
      });
    const wanted = verb === 'drain';
    return {
      changed: before !== wanted,
      message: `${service} ${verb === 'drain' ? 'drained' : 'undrained'}${note}`,
    };
  };

  return {
    status: () => {
      const s = agent.status();
      const ps = peers();
      return {
        nodeId: s.node,
        version: parts.version,
        startedAt: seconds(parts.startedAt),
        configFile: agent.config.file,
        configLoadedAt: seconds(st.configLoadedAt()),
        ready: s.started && s.endOfRibReleased && !s.stopping,
        peersEstablished: ps.filter((p) => p.state === 'established').length,
        peersTotal: ps.length,
        servicesUp: s.services.filter((x) => x.vipAnnounced).length,
        servicesTotal: s.services.length,
      };
    },
    peers: () => ({ peers: peers() }),
    services: () => ({
      services: agent.status().services.map((s) => {
        const local = s.instances.find((i) => i.local);
        const last = st.lastChange.get(s.name);
        return {
          name: s.name,
          state: local?.state ?? 'unknown',
          announced: s.vipAnnounced,
          drained: s.drained,
          vips: agent.config.services.find((c) => c.name === s.name)?.vips ?? [],
          instancesHealthy: s.instances.filter((i) => i.state === 'up').length,
          instancesTotal: s.instances.length,
          lastReason: last?.reason ?? '',
          lastChange: last ? seconds(last.at) : 0,
          lastCheck: last?.check ?? '',
          lastDetail: last?.detail ?? '',
        };
      }),
    }),
    instances: async ({ service }) => {
      const wanted = new Set(names(service));
      const store = parts.store;
      const registered = new Map<string, RegisteredInfo>();
      if (store)
        for (const n of wanted) for (const r of await store.registered(n)) registered.set(`${n}/${r.id}`, r);
      return {
        instances: agent
          .status()
          .services.filter((s) => wanted.has(s.name))
          .flatMap((s) => {
            const cfg = serviceOf(agent.config, s.name);
            return s.instances.map((i) => {
              const r = registered.get(`${s.name}/${i.id}`);
              const ic = cfg.instances.find((x) => x.id === i.id) ?? r;
              return {
                service: s.name,
                id: i.id,
                address: ic?.host.ipv4 ?? ic?.host.ipv6 ?? '',
                weight: ic?.weight ?? 0,
                ...(r
                  ? {
                      lease: r.lease,
                      leaseTtl: r.leaseTtlSeconds,
                      revision: r.modRevision,
                      departing: r.departing,
                      registered: r.state,
                    }
                  : {}),
                local: i.local,
                health: i.state,
                inRing: i.inNew || i.inEstablished,
                share: s.rings.new?.[i.id] ?? 0,
                inNew: i.inNew,
                inEstablished: i.inEstablished,
                reported: i.reported?.state ?? '',
              };
            });
          }),
      };
    },
    rings: async ({ service }) => {
      const store = parts.store;
      const dp = store && !parts.steering ? null : dataplane();
      return {
        rings: dp
          ? names(service).flatMap((n) => {
              const id = parts.steering?.serviceId(n);
              return id === undefined ? [] : ringsOf(dp, id, n);
            })
          : [],
        ...(store ? { digests: await ringDigests(store, names(service)) } : {}),
      };
    },
    flows: ({ vip, limit }) => {
      if (!agent.config.services.some((s) => s.vips.includes(vip)))
        throw new ApiError('NOT_FOUND', `no VIP ${vip}`);
      return flowsOf(dataplane(), vip, limit || undefined);
    },
    config: () => ({
      file: agent.config.file,
      json: JSON.stringify(publicView(agent.config)),
      loadedAt: seconds(st.configLoadedAt()),
    }),
    peer: ({ name }) => {
      const d = peerNamed(name, parts.peerDetail);
      return {
        peer: peerInfo(d, Date.now()),
        peerId: d.peerId,
        holdTime: d.holdTimeS,
        keepalive: d.keepaliveS,
        capabilitiesOffered: d.offered,
        capabilitiesNegotiated: d.negotiated,
        messagesIn: d.messagesIn,
        messagesOut: d.messagesOut,
        updatesIn: d.updatesIn,
        updatesOut: d.updatesOut,
        notificationsIn: d.notificationsIn,
        notificationsOut: d.notificationsOut,
        routeRefreshIn: d.routeRefreshIn,
        lastNotificationIn: d.lastNotificationIn ?? '',
        lastNotificationOut: d.lastNotificationOut ?? '',
      };
    },
    peerReset: ({ name, hard }) => {
      const reset = parts.resetPeer;
      const outcome = peerNamed(name, reset && ((n: string) => reset(n, hard)));
      if (outcome === 'not-established')
        throw new ApiError(
          'FAILED',
          `${name} is not Established: nothing to refresh (a hard reset restarts it)`,
        );
      if (outcome === 'no-route-refresh')
        throw new ApiError(
          'FAILED',
          `${name} did not offer route refresh (RFC 2918): only a hard reset is possible`,
        );
      return {
        changed: true,
        message:
          outcome === 'reset'
            ? `${name}: session reset (Cease, administrative reset); it restarts by itself`
            : `${name}: route refresh asked and our routes sent again; the session stays up`,
      };
    },
    checks: ({ service }) => ({ checks: checksOf(agent.status(), new Set(names(service)), Date.now()) }),
    drain: ({ service, instance }) => control('drain', service, instance),
    undrain: ({ service, instance }) => control('undrain', service, instance),
    reload: async () => {
      const r = await agent.reload();
      if (!r.ok) throw new ApiError('INVALID_CONFIG', r.error.message);
      const d = r.diff;
      const lines = [
        ...d.services.added.map((s) => `service ${s.name} added`),
        ...d.services.removed.map((s) => `service ${s.name} removed`),
        ...d.services.changed.map((s) => `service ${s.name} changed`),
        ...d.peers.added.map((p) => `peer ${p.name} added`),
        ...d.peers.removed.map((p) => `peer ${p.name} removed`),
        ...d.peers.changed.map((p) => `peer ${p.name} changed`),
      ];
      return { changed: !d.empty, changes: lines };
    },
    routes: () => {
      const s = agent.status();
      const cfg = agent.config;
      // Per peer, what its Adj-RIB-Out holds (a route no peer was sent is 'unsent', never "advertised all").
      const sentTo = new Map<string, string[]>();
      for (const r of parts.sent?.() ?? []) sentTo.set(r.prefix, [...(sentTo.get(r.prefix) ?? []), r.peer]);
      const advertised = (prefix: string, service: string, worse: ExportAttributes | null): RouteInfo[] => {
        const row = {
          prefix,
          direction: 'advertised',
          peer: '',
          nextHop: '',
          service,
          med: worse?.med ?? 0,
          asPath: worse?.prepend ? Array(worse.prepend).fill(cfg.node.asn).join(' ') : '',
          communities: (worse?.communities ?? []).map(communityText),
          best: true,
        };
        if (!parts.sent) return [row];
        const peers = sentTo.get(prefix) ?? [];
        if (peers.length === 0) return [{ ...row, direction: 'unsent' }];
        return peers.map((peer) => ({ ...row, peer }));
      };
      return {
        routes: [
          ...s.hostAddresses.flatMap((a) => advertised(hostPrefix(a), '', null)),
          ...s.services
            .filter((x) => x.vipAnnounced)
            .flatMap((x) => {
              const svc = cfg.services.find((c) => c.name === x.name);
              const worse = x.route === 'worsened' && svc ? worseAttributes(svc.onDown) : null;
              return (svc?.vips ?? []).flatMap((v) => advertised(hostPrefix(v), x.name, worse));
            }),
          ...(parts.received?.() ?? []),
        ],
      };
    },
  };
}
