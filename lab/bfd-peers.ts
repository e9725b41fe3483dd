// BFD peers for the lab (RFC 5880/5881 single hop): FRR's bfdd (with a zebra of its own, for the
// interfaces of link-local peers) and BIRD's `protocol bfd`, each configured with static sessions to
// the agent's addresses, and their session states read back (vtysh `show bfd peers json`, birdc
// `show bfd sessions`). Timers as the agent's default: 100 ms × 3. Paths all under the lab's directory.

import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsync, waitFor } from './exec.js';
import { daemonArgs, frrIds, vtyshJson, vtyshOk } from './frr.js';
import { DAEMON_READY_TIMEOUT_MS } from './peers.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const ZEBRA = '/usr/lib/frr/zebra';
const BFDD = '/usr/lib/frr/bfdd';
export const LAB_BFD = { intervalMs: 100, multiplier: 3 } as const;

/** One static session at the peer: the agent's address, the peer's own, and for link-local the interface. */
export interface BfdLabSession {
  /** The agent's address (as the peer sends to it). */
  remote: string;
  /** The peer's own address on the link (FRR: local-address; BIRD: local). */
  local?: string;
  /** The peer's interface (required for a link-local `remote`). */
  ifname?: string;
}

export interface FrrBfd {
  dir: string;
  zebra: LabProcess;
  bfdd: LabProcess;
}

function frrBfdConf(sessions: readonly BfdLabSession[]): string {
  const lines = ['hostname tor-bfd', '!', 'bfd'];
  for (const s of sessions) {
    const at = [s.local ? `local-address ${s.local}` : '', s.ifname ? `interface ${s.ifname}` : '']
      .filter(Boolean)
      .join(' ');
    lines.push(
      ` peer ${s.remote} ${at}`.trimEnd(),
      `  receive-interval ${LAB_BFD.intervalMs}`,
      `  transmit-interval ${LAB_BFD.intervalMs}`,
      `  detect-multiplier ${LAB_BFD.multiplier}`,
      ' !',
    );
  }
  lines.push('!', '');
  return lines.join('\n');
}

/** zebra + bfdd in `ns`, with these sessions. */
export async function startFrrBfd(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  sessions: readonly BfdLabSession[],
): Promise<FrrBfd> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'zebra.conf'), 'hostname tor-bfd\n!\n');
  const { uid, gid } = frrIds();
  chownSync(dir, uid, gid);
  const zebra = procs.start('zebra bfd', ns, ZEBRA, daemonArgs(ns, dir, 'zebra'), join(dir, 'zebra.out'));
  await waitFor('zebra vty', () => vtyshOk(dir, 'zebra'), DAEMON_READY_TIMEOUT_MS);
  const bfdd = await startBfdd(procs, ns, dir, frrBfdConf(sessions));
  return { dir, zebra, bfdd };
}

/** bfdd in `ns` beside a running zebra of the same directory, with this bfdd.conf. */
export async function startBfdd(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  conf: string,
): Promise<LabProcess> {
  writeFileSync(join(dir, 'bfdd.conf'), conf);
  const bfdd = procs.start(
    'bfdd',
    ns,
    BFDD,
    [...daemonArgs(ns, dir, 'bfdd'), '--bfdctl', join(dir, 'bfdd.sock')],
    join(dir, 'bfdd.out'),
  );
  await waitFor('bfdd vty', () => vtyshOk(dir, 'bfdd'), DAEMON_READY_TIMEOUT_MS);
  return bfdd;
}

/** bfdd's session status by peer address ("up", "down", "init", "admin-down"). */
export async function frrBfdStates(dir: string): Promise<Map<string, string>> {
  const peers = await vtyshJson<{ peer: string; status: string }[]>(dir, 'show bfd peers json');
  return new Map(peers.map((p) => [p.peer, p.status]));
}

export interface BirdBfd {
  ctl: string;
  bird: LabProcess;
}

function birdBfdConf(routerId: string, sessions: readonly BfdLabSession[], log: string): string {
  const neighbors = sessions.map((s) => {
    const dev = s.ifname ? ` dev "${s.ifname}"` : '';
    const local = s.local ? ` local ${s.local}` : '';
    return `  neighbor ${s.remote}${dev}${local};`;
  });
  return `log "${log}" all;
router id ${routerId};
protocol device { scan time 10; }
protocol bfd {
  interface "*" {
    min rx interval ${LAB_BFD.intervalMs} ms;
    min tx interval ${LAB_BFD.intervalMs} ms;
    idle tx interval 1000 ms;
    multiplier ${LAB_BFD.multiplier};
  };
${neighbors.join('\n')}
}
`;
}

/** BIRD with `protocol bfd` and these static sessions in `ns`. */
export async function startBirdBfd(
  procs: ProcessRegistry,
  ns: string,
  dir: string,
  routerId: string,
  sessions: readonly BfdLabSession[],
): Promise<BirdBfd> {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'bird.conf');
  const ctl = join(dir, 'bird.ctl');
  writeFileSync(conf, birdBfdConf(routerId, sessions, join(dir, 'bird.log')));
  const bird = procs.start(
    'bird bfd',
    ns,
    'bird',
    ['-f', '-c', conf, '-s', ctl, '-P', join(dir, 'bird.pid')],
    join(dir, 'bird.out'),
  );
  await waitFor(
    'bird ctl',
    () => runAsync('birdc', ['-s', ctl, 'show status']).then(() => true),
    DAEMON_READY_TIMEOUT_MS,
  );
  return { ctl, bird };
}

/** BIRD's BFD session states by neighbor address ("Up", "Down", "Init", "AdminDown"), lower-cased. */
export async function birdBfdStates(ctl: string): Promise<Map<string, string>> {
  const out = await runAsync('birdc', ['-s', ctl, 'show bfd sessions']);
  const states = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f.:]+)\s+(\S+)\s+(\S+)\s+/i.exec(line);
    if (m && m[1]!.includes(m[1]!.includes(':') ? ':' : '.')) states.set(m[1]!, m[3]!.toLowerCase());
  }
  return states;
}
