// `anycastd show peer NAME` (one BGP session in detail: state, uptime, the capabilities offered and
// negotiated, message counters, last error, routes rejected by reason, BFD and link state) and `anycastd peer reset NAME [--hard]` (soft: ROUTE-REFRESH
// both ways, the session stays up; hard: Cease, administrative reset, the session restarts).
import type { Command } from 'commander';
import type { PeerDetailInfo } from '../api/types.js';
import { type ApiOptions, apiOptions, runApi } from './api-command.js';
import { orDash, rejectedText, since } from './format.js';
import { examples } from './help.js';
import type { CliIo } from './io.js';

export function peerText(d: PeerDetailInfo): string {
  const p = d.peer;
  const up = p.state === 'established';
  return [
    `peer          ${p.name} (${p.address}, AS ${p.remoteAsn}${d.peerId ? `, id ${d.peerId}` : ''})`,
    `state         ${p.state}${up ? ` for ${since(p.establishedSince)}` : ''}, ${p.flaps} flaps`,
    `timers        ${up ? `hold ${d.holdTime}s, keepalive ${d.keepalive}s` : '-'}`,
    `negotiated    ${orDash(d.capabilitiesNegotiated.join(', '))}`,
    `peer offered  ${orDash(d.capabilitiesOffered.join(', '))}`,
    `prefixes      ${p.prefixesAdvertised} advertised, ${p.prefixesReceived} received, ${p.prefixesAccepted} accepted`,
    `messages      in ${d.messagesIn} (updates ${d.updatesIn}, notifications ${d.notificationsIn}, route refresh ${d.routeRefreshIn}); out ${d.messagesOut} (updates ${d.updatesOut}, notifications ${d.notificationsOut})`,
    `last error    in ${orDash(d.lastNotificationIn)}, out ${orDash(d.lastNotificationOut)}`,
    `rejected      ${orDash(rejectedText(p.routesRejected))}`,
    `liveness      bfd ${orDash(p.bfd)}, link ${orDash(p.link)}`,
  ].join('\n');
}

/** Adds `show peer NAME` to the `show` group. */
export function registerShowPeer(show: Command, io: CliIo): void {
  apiOptions(
    show
      .command('peer')
      .description('one BGP session in detail: state, uptime, capabilities, counters, last error')
      .argument('<name>', 'peer name'),
    io,
  )
    .addHelpText(
      'after',
      examples('anycastd show peer tor1', 'anycastd show peer tor1 --json | jq .capabilitiesNegotiated'),
    )
    .action((name: string, o: ApiOptions) => runApi(io, o, 'peer', { name }, peerText));
}

export function registerPeer(cli: Command, io: CliIo): void {
  const peer = cli.command('peer').description('act on one BGP session');
  apiOptions(
    peer
      .command('reset')
      .description(
        'soft (default): ask the peer to resend its routes (ROUTE-REFRESH) and resend ours, the session stays up; --hard: end it with a Cease (administrative reset), it restarts by itself',
      )
      .argument('<name>', 'peer name')
      .option('--hard', 'end the session (Cease 4, RFC 4486); routes learned from it go until it is back'),
    io,
  )
    .addHelpText('after', examples('anycastd peer reset tor1', 'anycastd peer reset tor1 --hard'))
    .action((name: string, o: ApiOptions & { hard?: boolean }) =>
      runApi(io, o, 'peerReset', { name, hard: o.hard ?? false }, (r) => r.message),
    );
}
