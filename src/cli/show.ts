// `anycastd show status|peers|services|instances|checks|routes|rings|flows`: read-only views of the running
// agent over the control API, as tables or (--json) as the API's reply objects.
import type { Command } from 'commander';
import type { Methods } from '../api/types.js';
import { type ApiOptions, apiOptions, runApi } from './api-command.js';
import { orDash, percent, rejectedText, since, table, yesNo } from './format.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';
import { registerShowPeer } from './peer.js';
import { checksText } from './show-checks.js';

type Reply<M extends keyof Methods> = Methods[M]['reply'];

export function statusText(s: Reply<'status'>): string {
  return [
    `node        ${s.nodeId} (anycastd ${s.version})`,
    `ready       ${yesNo(s.ready)}`,
    `uptime      ${since(s.startedAt)}`,
    `config      ${s.configFile} (loaded ${since(s.configLoadedAt)} ago)`,
    `peers       ${s.peersEstablished}/${s.peersTotal} established`,
    `services    ${s.servicesUp}/${s.servicesTotal} up`,
  ].join('\n');
}

export const peersText = (r: Reply<'peers'>): string =>
  table(r.peers, [
    { header: 'PEER', value: (p) => p.name },
    { header: 'ADDRESS', value: (p) => p.address },
    { header: 'ASN', value: (p) => p.remoteAsn },
    { header: 'STATE', value: (p) => p.state },
    { header: 'UP', value: (p) => since(p.establishedSince) },
    { header: 'FLAPS', value: (p) => p.flaps },
    { header: 'ADV', value: (p) => p.prefixesAdvertised },
    { header: 'RCVD', value: (p) => p.prefixesReceived },
    { header: 'ACCEPTED', value: (p) => p.prefixesAccepted },
    { header: 'REJECTED', value: (p) => orDash(rejectedText(p.routesRejected)) },
    { header: 'BFD', value: (p) => orDash(p.bfd) },
    { header: 'LINK', value: (p) => orDash(p.link) },
    { header: 'LAST ERROR', value: (p) => orDash(p.lastError) },
  ]);

export const servicesText = (r: Reply<'services'>): string =>
  table(r.services, [
    { header: 'SERVICE', value: (s) => s.name },
    { header: 'STATE', value: (s) => s.state },
    { header: 'ANNOUNCED', value: (s) => yesNo(s.announced) },
    { header: 'DRAINED', value: (s) => yesNo(s.drained) },
    { header: 'HEALTHY', value: (s) => `${s.instancesHealthy}/${s.instancesTotal}` },
    { header: 'VIPS', value: (s) => s.vips.join(',') },
    {
      header: 'LAST CHANGE',
      value: (s) => {
        // the reason with the check behind it and what that check found: "check-failed tcp#0: ECONNREFUSED"
        const cause =
          s.lastCheck === '' ? '' : ` ${s.lastCheck}${s.lastDetail === '' ? '' : `: ${s.lastDetail}`}`;
        const what = `${orDash(s.lastReason)}${cause}`;
        return s.lastChange > 0 ? `${what} (${since(s.lastChange)} ago)` : what;
      },
    },
  ]);

export const instancesText = (r: Reply<'instances'>): string =>
  table(r.instances, [
    { header: 'SERVICE', value: (i) => i.service },
    { header: 'INSTANCE', value: (i) => `${i.id}${i.local ? ' (local)' : ''}` },
    { header: 'ADDRESS', value: (i) => i.address },
    { header: 'WEIGHT', value: (i) => i.weight },
    { header: 'HEALTH', value: (i) => i.health },
    { header: 'REPORTED', value: (i) => orDash(i.reported) },
    { header: 'NEW', value: (i) => yesNo(i.inNew) },
    { header: 'ESTABLISHED', value: (i) => yesNo(i.inEstablished) },
    { header: 'SHARE', value: (i) => percent(i.share) },
    ...(r.instances.some((i) => (i.lease ?? '') !== '')
      ? [
          {
            header: 'REGISTERED',
            value: (i: Instance) => orDash(i.registered ?? '') + (i.departing ? ' (departing)' : ''),
          },
          { header: 'LEASE', value: (i: Instance) => orDash(i.lease ?? '') },
          { header: 'TTL', value: (i: Instance) => ((i.leaseTtl ?? -1) < 0 ? '-' : `${i.leaseTtl}s`) },
          { header: 'REVISION', value: (i: Instance) => i.revision ?? 0 },
        ]
      : []),
  ]);

type Instance = Reply<'instances'>['instances'][number];

/** etcd backend: each service's ring digest and revision here, and whether every host shows the same. */
const digestsText = (r: Reply<'rings'>): string =>
  (r.digests ?? [])
    .map(
      (d) =>
        `${d.service}: digest ${d.digest} at revision ${d.revision}; hosts ${d.agree ? 'agree' : 'DISAGREE'}` +
        (d.hosts.length > 0 ? ` (${d.hosts.join(', ')})` : ''),
    )
    .join('\n');

export const routesText = (r: Reply<'routes'>): string =>
  table(r.routes, [
    { header: 'PREFIX', value: (x) => x.prefix },
    { header: 'DIRECTION', value: (x) => x.direction },
    { header: 'PEER', value: (x) => (x.peer !== '' ? x.peer : x.direction === 'unsent' ? '-' : 'all') },
    { header: 'NEXT HOP', value: (x) => orDash(x.nextHop) },
    { header: 'SERVICE', value: (x) => orDash(x.service) },
    { header: 'MED', value: (x) => x.med },
    { header: 'AS PATH', value: (x) => orDash(x.asPath) },
    { header: 'COMMUNITIES', value: (x) => orDash(x.communities.join(' ')) },
  ]);

export const ringsText = (r: Reply<'rings'>): string =>
  [ringTable(r), digestsText(r)].filter((t) => t !== '').join('\n');

const ringTable = (r: Reply<'rings'>): string =>
  table(
    // a ring with no instance (every one failed) still gets a row
    r.rings.flatMap((ring) =>
      ring.shares.length > 0 ? ring.shares.map((s) => ({ ring, s })) : [{ ring, s: NO_SHARE }],
    ),
    [
      { header: 'SERVICE', value: (x) => x.ring.service },
      { header: 'RING', value: (x) => x.ring.kind },
      { header: 'SIZE', value: (x) => x.ring.size },
      { header: 'INSTANCE', value: (x) => x.s.instance },
      { header: 'ENTRIES', value: (x) => x.s.entries },
      { header: 'SHARE', value: (x) => percent(x.s.share) },
    ],
  );

export const flowsText = (r: Reply<'flows'>): string =>
  `${table(r.flows, [
    { header: 'SOURCE', value: (f) => f.source },
    { header: 'SPORT', value: (f) => f.sourcePort },
    { header: 'DESTINATION', value: (f) => f.destination },
    { header: 'DPORT', value: (f) => f.destinationPort },
    { header: 'PROTO', value: (f) => f.protocol },
    { header: 'INSTANCE', value: (f) => f.instance },
  ])}\n${r.flows.length} of ${r.total} flows to ${r.vip}`;

const EMPTY = {} as Record<string, never>;
const NO_SHARE = { instance: '-', entries: 0, share: 0 };

export function registerShow(cli: Command, io: CliIo): void {
  const show = cli
    .command('show')
    .description('show the state of the running agent (peers, services, routes, rings, flows)');
  const sub = (name: string, description: string, example: string) =>
    apiOptions(show.command(name).description(description), io).addHelpText('after', examples(example));

  sub('status', 'node, readiness, uptime, config file, peers and services up', 'anycastd show status').action(
    (o: ApiOptions) => runApi(io, o, 'status', EMPTY, statusText),
  );
  sub(
    'peers',
    'BGP sessions: state, uptime, flaps, prefixes advertised/received/accepted',
    'anycastd show peers --json | jq \'.peers[] | select(.state != "established")\'',
  ).action((o: ApiOptions) => runApi(io, o, 'peers', EMPTY, peersText));
  sub(
    'services',
    'services: health, announced, drained, healthy instances, last transition',
    'anycastd show services',
  ).action((o: ApiOptions) => runApi(io, o, 'services', EMPTY, servicesText));
  const perService = <M extends 'instances' | 'rings' | 'checks'>(
    name: M,
    description: string,
    text: (r: Reply<M>) => string,
  ) =>
    sub(name, description, `anycastd show ${name} web`)
      .argument('[service]', 'only this service')
      .action((service: string | undefined, o: ApiOptions) =>
        runApi(io, o, name, { service: service ?? '' } as Methods[M]['args'], text),
      );
  perService(
    'instances',
    'instances of every service (or of SERVICE): health, ring membership, share',
    instancesText,
  );
  perService(
    'checks',
    "every check's state, last result and reason, latency, streak; exec checks' first stderr lines",
    checksText,
  );
  registerShowPeer(show, io);
  sub('routes', 'routes advertised to the peers and received from them', 'anycastd show routes').action(
    (o: ApiOptions) => runApi(io, o, 'routes', EMPTY, routesText),
  );
  perService(
    'rings',
    'Maglev rings (new, established) and the share of entries each instance owns',
    ringsText,
  );
  sub(
    'flows',
    'flows of a VIP in the XDP flow table and the instance each is pinned to',
    'anycastd show flows 192.0.2.10 --limit 20',
  )
    .argument('<vip>', 'VIP address')
    .option('-n, --limit <n>', 'show at most n flows', (v) => Number.parseInt(v, 10), 100)
    .action((vip: string, o: ApiOptions & { limit: number }) =>
      runApi(io, o, 'flows', { vip, limit: o.limit }, flowsText),
    );
}
