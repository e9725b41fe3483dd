// Cross-field rules of the config that a per-field schema cannot state: address families, unique names,
// ids and VIPs, the one local instance of each service, timer relations (RFC 4271 §4.2 hold time, check
// timeout below interval), every VIP's family carried by a peer (families.ts), dampening thresholds (RFC 2439: reuse below suppress) and a prime Maglev ring.
// Each violation is reported with the key path it belongs to; the local instance id is filled in here.

import { isIPv4 } from 'node:net';
import { checkVipFamilies } from './families.js';
import { MAX_SERVICES, MAX_VIP_ENTRIES, ringServices, vipEntryCount } from './limits.js';
import { MAX_RESTART_TIME_MS, MIN_HOLD_TIME_MS, MIN_RESTART_TIME_MS } from './schema-bgp.js';
import { checkEtcd } from './semantics-etcd.js';
import type { CheckConfig, Config, PeerConfig, ServiceConfig } from './types.js';

export type Path = (string | number)[];
export type Report = (path: Path, expected: string, found?: string) => void;

export function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

export function applySemantics(cfg: Config, report: Report): void {
  const { node } = cfg;
  if (node.host.ipv4 === null && node.host.ipv6 === null)
    report(['node', 'host'], 'an ipv4 and/or an ipv6 key');
  if (node.routerId === '')
    report(['node', 'router_id'], 'a router id (required when the host has no IPv4 address)');
  checkUnique(
    cfg.peers,
    (p) => p.name,
    (i) => ['bgp', 'peers', i],
    'a peer name (or address) used once',
    report,
  );
  cfg.peers.forEach((p, i) => {
    checkPeer(p, ['bgp', 'peers', i], report);
  });
  checkUnique(
    cfg.services,
    (s) => s.name,
    (i) => ['services', i, 'name'],
    'a service name used once',
    report,
  );
  if (cfg.services.length > MAX_SERVICES)
    report(
      ['services'],
      `at most ${MAX_SERVICES} services (the data plane's limit)`,
      `${cfg.services.length}`,
    );
  const room = ringServices(cfg.services.length, cfg.dataplane.maxServices);
  if (cfg.services.length <= MAX_SERVICES && cfg.services.length > room)
    report(
      ['dataplane', 'max_services'],
      `room for the ${cfg.services.length} configured services (the rings map holds max_services)`,
      `${room}`,
    );
  const entries = vipEntryCount(cfg.services);
  if (entries > MAX_VIP_ENTRIES)
    report(
      ['services'],
      `at most ${MAX_VIP_ENTRIES} VIP/port entries (each service's VIPs × ports, summed: the data plane's limit)`,
      `${entries}`,
    );
  const vipOwner = new Map<string, string>();
  cfg.services.forEach((s, i) => {
    s.vips.forEach((vip, j) => {
      const path = ['services', i, 'vips', j];
      if (vip === node.host.ipv4 || vip === node.host.ipv6)
        report(path, 'a VIP that is not the node host address');
      const other = vipOwner.get(vip);
      if (other !== undefined) report(path, `a VIP not already used by service "${other}"`);
      vipOwner.set(vip, s.name);
    });
    checkService(cfg, s, ['services', i], report);
  });
  if (cfg.dataplane.mode === 'xdp' && node.uplinks.length === 0)
    report(['node', 'uplinks'], 'at least one interface to attach XDP to (or dataplane.mode: none)');
  checkVipFamilies(cfg, report);
  checkEtcd(cfg, report);
  const maxInstances = Math.max(0, ...cfg.services.map((s) => s.instances.length));
  const ring = cfg.dataplane.ringSize;
  if (!isPrime(ring)) report(['dataplane', 'ring_size'], 'a prime number (Maglev needs a prime table size)');
  else if (ring < maxInstances)
    report(['dataplane', 'ring_size'], `a prime of at least ${maxInstances} (the instance count)`);
}

function checkPeer(p: PeerConfig, path: Path, report: Report): void {
  if ((p.address === null) === (p.interface === null))
    report(path, 'exactly one of the keys address or interface');
  if (p.password !== null && p.passwordFile !== null)
    report([...path, 'password_file'], 'only one of password or password_file');
  if (p.holdTimeMs !== 0 && p.holdTimeMs < MIN_HOLD_TIME_MS)
    report([...path, 'hold_time'], 'a hold time of 0 or at least 3s');
  if (p.holdTimeMs === 0 ? p.keepaliveMs !== 0 : p.keepaliveMs >= p.holdTimeMs)
    report([...path, 'keepalive'], 'a keepalive shorter than the hold time (0 when the hold time is 0)');
  const restart = p.gracefulRestart.restartTimeMs;
  if (restart < MIN_RESTART_TIME_MS || restart > MAX_RESTART_TIME_MS)
    report([...path, 'graceful_restart', 'restart_time'], 'a restart time from 1s to 5m');
}

function checkService(cfg: Config, s: ServiceConfig, path: Path, report: Report): void {
  const needV4 = s.vips.some((v) => isIPv4(v));
  const needV6 = s.vips.some((v) => !isIPv4(v));
  checkUnique(
    s.instances,
    (i) => i.id,
    (j) => [...path, 'instances', j, 'id'],
    'an instance id used once',
    report,
  );
  checkUnique(
    s.ports,
    (p) => `${p.port ?? 'any'}/${p.protocol}`,
    (j) => [...path, 'ports', j],
    'a port/protocol listed once',
    report,
  );
  const hostKey = (h: { ipv4: string | null; ipv6: string | null }) =>
    [h.ipv4, h.ipv6].filter(Boolean).join(' ');
  checkUnique(
    s.instances,
    (i) => hostKey(i.host),
    (j) => [...path, 'instances', j, 'host'],
    'a host used by one instance',
    report,
  );
  s.instances.forEach((inst, j) => {
    const hp = [...path, 'instances', j, 'host'];
    if (needV4 && inst.host.ipv4 === null) report(hp, 'an ipv4 key (the service has an IPv4 VIP)');
    if (needV6 && inst.host.ipv6 === null) report(hp, 'an ipv6 key (the service has an IPv6 VIP)');
  });
  const { ipv4, ipv6 } = cfg.node.host;
  if (s.instances.length === 0) {
    if (cfg.cluster.backend !== 'etcd') {
      report(
        [...path, 'instances'],
        'at least one instance (the list may be omitted with cluster.backend etcd)',
      );
      return;
    }
    // etcd mode: the local instance is this node; the others register in etcd
    s.instances = [{ id: cfg.node.id, host: { ipv4, ipv6 }, weight: 1 }];
  }
  const local = s.instances.filter(
    (i) => (ipv4 !== null && i.host.ipv4 === ipv4) || (ipv6 !== null && i.host.ipv6 === ipv6),
  );
  if (local.length !== 1) {
    const ids = local.map((i) => i.id).join(', ');
    report(
      [...path, 'instances'],
      "exactly one instance whose host is this node's host address",
      local.length === 0 ? 'none' : `${local.length} (${ids})`,
    );
  } else s.localInstanceId = local[0]!.id;
  s.checks.forEach((c, k) => {
    checkCheck(c, [...path, 'checks', k], report);
  });
  if (s.onDown.action !== 'withdraw' && s.onDown.delayMs === 0)
    report(
      [...path, 'on_down', 'delay'],
      `a delay above 0 (action ${s.onDown.action} worsens the route, then withdraws)`,
    );
}

function checkCheck(c: CheckConfig, path: Path, report: Report): void {
  if (c.timeoutMs >= c.intervalMs) report([...path, 'timeout'], 'a timeout shorter than the interval');
  if (c.fastIntervalMs > c.intervalMs)
    report([...path, 'fast_interval'], 'a fast interval no longer than the interval');
  if (c.dampening && c.dampening.reuse >= c.dampening.suppress)
    report([...path, 'dampening', 'reuse'], 'a reuse threshold below the suppress threshold');
  if ((c.type === 'http' || c.type === 'https') && c.bodyRegex !== null) {
    try {
      new RegExp(c.bodyRegex);
    } catch (err) {
      report([...path, 'body_regex'], 'a valid regular expression', (err as Error).message);
    }
  }
}

function checkUnique<T>(
  items: T[],
  key: (t: T) => string,
  path: (i: number) => Path,
  expected: string,
  report: Report,
): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) report(path(i), expected, `a duplicate of an earlier one ("${k}")`);
    seen.add(k);
  });
}
