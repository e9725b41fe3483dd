// Convergence of many VIPs at real peers (DESIGN.md "Measures that matter"): our BGP speaker
// (src/bgp/speaker.ts) in a host namespace with IPv4 and IPv6 sessions (RFC 4271, RFC 4760) to an FRR
// ToR and a BIRD ToR, each in its own namespace; N IPv6 /128 VIPs advertised at once; ms until all N
// are in each ToR's kernel FIB (rtnetlink dumps in the ToR namespace every 2 ms), then withdrawn and
// ms until all are gone. Median over RUNS rounds. Namespaces carry the lab's per-run prefix
// (acdlab-<pid>-<run>-) and are removed by it, also on failure.
import { join } from 'node:path';
import { renderBird, startBird } from '../lab/bird.js';
import { sleep, waitFor } from '../lab/exec.js';
import { renderBgpd, startFrr } from '../lab/frr.js';
import { createNamespace, labPrefix, removeByPrefix, runDir, wireHostToTor } from '../lab/netns.js';
import { type PeerSpec, singleHostTorPeers } from '../lab/peers.js';
import { ProcessRegistry } from '../lab/processes.js';
import { Afi } from '../src/bgp/codec/constants.js';
import type { Prefix } from '../src/bgp/codec/prefix.js';
import { BgpSpeaker } from '../src/bgp/speaker.js';
import { parseConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { Rtnetlink } from '../src/native/rtnl.js';

/** Run number of this bench's namespace prefix (distinct from the lab's own runs). */
const PREFIX_RUN = 904;
const HOST_AS = 4_200_000_101;
const TOR_AS = { frr: 65001, bird: 65002 } as const;
const HOST4 = '198.51.100.11';
const HOST6 = '2001:db8:100::11';
const VIP_BASE = '2001:db8:ffff::1:';
const LINK = {
  frr: { h4: '192.0.2.0', t4: '192.0.2.1', h6: '2001:db8:1::', t6: '2001:db8:1::1' },
  bird: { h4: '192.0.2.2', t4: '192.0.2.3', h6: '2001:db8:2::', t6: '2001:db8:2::1' },
} as const;
type Tor = keyof typeof LINK;
const TORS: readonly Tor[] = ['frr', 'bird'];
const POLL_MS = 2;
const ROUND_TIMEOUT_MS = 20_000;
const SESSION_TIMEOUT_MS = 20_000;

export interface ConvergeFigures {
  vips: number;
  runs: number;
  /** ms from advertise() to all VIPs in the ToR's FIB, per run, and the median. */
  installMs: Record<Tor, number[]>;
  installMedianMs: Record<Tor, number>;
  withdrawMs: Record<Tor, number[]>;
  withdrawMedianMs: Record<Tor, number>;
}

function torSpecs(tor: Tor): PeerSpec[] {
  return singleHostTorPeers(LINK[tor], TOR_AS[tor], HOST_AS);
}

/** The speaker's node and peers, through the agent's own config parser (src/config/load.ts). */
function speakerConfig(): Pick<Config, 'node' | 'peers'> {
  const peers = TORS.flatMap((t) =>
    ([4, 6] as const).map(
      (f) =>
        `    - { name: ${t}_${f}, address: "${LINK[t][`t${f}`]}", remote_asn: ${TOR_AS[t]}, ` +
        'hold_time: 9s, keepalive: 3s, connect_retry: 1s }',
    ),
  );
  const yaml = [
    'node:',
    '  id: h1',
    `  host: { ipv4: ${HOST4}, ipv6: "${HOST6}" }`,
    `  asn: ${HOST_AS}`,
    `  uplinks: [${TORS.map((t) => `to-${t}`).join(', ')}]`,
    'bgp:',
    '  peers:',
    ...peers,
    '',
  ].join('\n');
  return parseConfig(yaml, 'bench/bgp-converge.ts');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** ms until `count(tor) === want` holds at every ToR, per ToR. */
async function timeUntil(
  fib: Record<Tor, Rtnetlink>,
  want: number,
  start: number,
): Promise<Record<Tor, number>> {
  const count = (rt: Rtnetlink) => rt.routes({ family: 6 }).filter((r) => r.dst.startsWith(VIP_BASE)).length;
  const seen: Partial<Record<Tor, number>> = {};
  while (TORS.some((t) => seen[t] === undefined)) {
    for (const t of TORS)
      if (seen[t] === undefined && count(fib[t]) === want) seen[t] = performance.now() - start;
    if (performance.now() - start > ROUND_TIMEOUT_MS)
      throw new Error(`${want} VIPs not seen in the FIBs in time`);
    await sleep(POLL_MS);
  }
  return seen as Record<Tor, number>;
}

export async function convergeFigures(vips: number, runs: number): Promise<ConvergeFigures> {
  const prefix = labPrefix(PREFIX_RUN);
  const dir = runDir(prefix);
  const ns = { host: `${prefix}h`, frr: `${prefix}frr`, bird: `${prefix}bird` };
  const procs = new ProcessRegistry();
  let speaker: BgpSpeaker | undefined;
  const fibs: Rtnetlink[] = [];
  try {
    for (const n of Object.values(ns)) createNamespace(n);
    for (const tor of TORS) {
      wireHostToTor(ns.host, tor, ns[tor], LINK[tor]);
    }
    await startFrr(
      procs,
      ns.frr,
      join(dir, 'frr'),
      'tor1',
      renderBgpd('tor1', '192.0.2.101', torSpecs('frr')),
    );
    const birdConf = renderBird('192.0.2.102', torSpecs('bird'), join(dir, 'bird', 'bird.log'), {
      v4: ['0.0.0.0/0'],
      v6: ['::/0'],
    });
    await startBird(procs, ns.bird, join(dir, 'bird'), 'tor2', birdConf);
    speaker = await BgpSpeaker.start(speakerConfig(), { netns: ns.host, retryBaseMs: 200, retryMaxMs: 1000 });
    const sp = speaker;
    await waitFor(
      'sessions Established',
      async () => (sp.peers().every((p) => p.state === 'established') ? true : undefined),
      SESSION_TIMEOUT_MS,
      20,
    );
    sp.releaseEndOfRib();
    const fib = { frr: Rtnetlink.open({ netns: ns.frr }), bird: Rtnetlink.open({ netns: ns.bird }) };
    fibs.push(fib.frr, fib.bird);
    const many: Prefix[] = Array.from({ length: vips }, (_, i) => ({
      afi: Afi.IPV6,
      addr: `${VIP_BASE}${i.toString(16)}`,
      len: 128,
    }));
    const installMs: Record<Tor, number[]> = { frr: [], bird: [] };
    const withdrawMs: Record<Tor, number[]> = { frr: [], bird: [] };
    for (let r = 0; r < runs; r++) {
      let t = performance.now();
      for (const p of many) sp.advertise(p);
      const inst = await timeUntil(fib, vips, t);
      t = performance.now();
      for (const p of many) sp.withdraw(p);
      const gone = await timeUntil(fib, 0, t);
      for (const tor of TORS) {
        installMs[tor].push(Math.round(inst[tor]));
        withdrawMs[tor].push(Math.round(gone[tor]));
      }
    }
    const med = (x: Record<Tor, number[]>) => ({ frr: median(x.frr), bird: median(x.bird) });
    return {
      vips,
      runs,
      installMs,
      installMedianMs: med(installMs),
      withdrawMs,
      withdrawMedianMs: med(withdrawMs),
    };
  } finally {
    speaker?.stop();
    for (const f of fibs) f.close();
    await procs.stopAll();
    removeByPrefix(prefix);
  }
}
