// Run by hostile-service.root.test.ts inside a namespace with no route but lo (`ip netns exec NS node --import
// tsx this-file`): UDP, DNS, TCP and HTTP checks of a lab address that cannot be reached from here. Prints
// one JSON line with each probe's result once every socket the probes opened has closed; if a probe threw
// out of an event handler the process dies first.

import { probeHttp } from '../../src/health/probe-http.js';
import { probeTcp } from '../../src/health/probe-tcp.js';
import { probeDns, probeUdp } from '../../src/health/probe-udp.js';
import type { ProbeResult } from '../../src/health/types.js';
import { flush } from '../helpers/fake-clock.js';
import { waitFor } from '../helpers/wait-for.js';

const TARGET = '203.0.113.53';
const TIMEOUT_MS = 1_000;
const signal = () => AbortSignal.timeout(TIMEOUT_MS);
const brief = (r: ProbeResult) => ({ ok: r.ok, detail: r.detail });

const results = {
  udp: brief(await probeUdp(TARGET, 7, 'ping', 'ping', signal())),
  dns: brief(await probeDns(TARGET, 53, 'probe.example.com', 'A', ['192.0.2.53'], signal())),
  tcp: brief(await probeTcp(TARGET, 80, signal())),
  http: brief(
    await probeHttp(
      TARGET,
      {
        type: 'http',
        port: 80,
        path: '/',
        host: null,
        status: [200],
        bodyContains: null,
        bodyRegex: null,
        tlsSkipVerify: false,
      },
      signal(),
    ),
  ),
};
// stay until the probes' sockets are closed and their last callbacks ran: a late exception from one would
// end the process now
const SOCKET_HANDLE = /^(TCP|UDP|TLS)/;
await waitFor(() => !process.getActiveResourcesInfo().some((r) => SOCKET_HANDLE.test(r)), {
  what: "the probes' sockets closed",
});
await flush();
process.stdout.write(`${JSON.stringify(results)}\n`);
