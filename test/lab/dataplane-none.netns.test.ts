// dataplane.mode none on a plain-ECMP fabric: two real agents (`anycastd run`, each in its host
// namespace) behind one FRR ToR that multipaths across the hosts' ASNs, each host running the lab's
// service on the VIP. With both healthy the ToR holds two paths for the VIP and its kernel one route
// with two next hops; killing one host's service withdraws that host's path (the other stays); no XDP
// program is on any host link, and nothing is pinned or mounted in the pin directory.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SERVICE_PORTS } from '../../lab/addressing.js';
import { nodeArgs, startServiceIn } from '../../lab/apps.js';
import { runIn, waitFor } from '../../lab/exec.js';
import { frrPaths, renderBgpd, startFrr } from '../../lab/frr.js';
import { addAddress, createNamespace, createVeth, linkUp } from '../../lab/netns.js';
import type { LabProcess } from '../../lab/processes.js';
import { SpeakerLab } from '../bgp/speaker-lab.js';

const lab = new SpeakerLab('dpnone');
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const TOR_AS = 65001;
const VIP = '203.0.113.10';
const HOSTS = [
  { id: 'h1', asn: 4_200_000_011, host: '198.51.100.11', link: { h: '192.0.2.0', t: '192.0.2.1' } },
  { id: 'h2', asn: 4_200_000_012, host: '198.51.100.12', link: { h: '192.0.2.2', t: '192.0.2.3' } },
] as const;
const WAIT_MS = 30_000;
let done = false;

function agentYaml(h: (typeof HOSTS)[number], dir: string): string {
  return `node: { id: ${h.id}, host: { ipv4: ${h.host} }, asn: ${h.asn} }
bgp:
  peers: [{ name: tor, address: ${h.link.t}, remote_asn: ${TOR_AS}, hold_time: 3s, keepalive: 1s, connect_retry: 1s }]
services:
  - name: web
    vips: [${VIP}]
    ports: [{ protocol: tcp, port: ${SERVICE_PORTS.http} }]
    instances: [{ id: ${h.id}, host: { ipv4: ${h.host} } }]
    checks: [{ type: tcp, port: ${SERVICE_PORTS.http}, interval: 200ms, timeout: 150ms, watch_socket: true }]
    grace_time: 200ms
    drain_file: ${dir}/drain-web
dataplane: { mode: none }
cluster: { enabled: false }
metrics: { listen: "127.0.0.1:9469" }
api: { socket: ${dir}/anycastd.sock }
`;
}

test('dataplane.mode none: routes follow health on a plain-ECMP fabric, no XDP, no pins, no bpffs', {
  timeout: 120_000,
}, async () => {
  const tor = lab.ns('tor');
  createNamespace(tor);
  for (const h of HOSTS) {
    const ns = lab.ns(h.id);
    createNamespace(ns);
    createVeth(ns, 'up1', tor, `dn-${h.id}`);
    addAddress(ns, 'up1', `${h.link.h}/31`);
    addAddress(tor, `dn-${h.id}`, `${h.link.t}/31`);
    linkUp(ns, 'up1');
    linkUp(tor, `dn-${h.id}`);
  }
  const frrDir = join(lab.dir, 'tor');
  await startFrr(
    lab.procs,
    tor,
    frrDir,
    'tor',
    renderBgpd(
      'tor',
      '192.0.2.101',
      HOSTS.map((h) => ({
        name: `${h.id}_4`,
        peer: h.id,
        family: 4 as const,
        localAddress: h.link.t,
        peerAddress: h.link.h,
        localAs: TOR_AS,
        peerAs: h.asn,
        import: 'host-routes' as const,
        export: 'default-only' as const,
        originateDefault: true,
        addPathTx: false,
      })),
    ),
  );
  const agents: LabProcess[] = [];
  const services: LabProcess[] = [];
  for (const h of HOSTS) {
    const dir = join(lab.dir, h.id);
    mkdirSync(join(dir, 'pins'), { recursive: true });
    writeFileSync(join(dir, 'anycastd.yaml'), agentYaml(h, dir));
    const check = runIn(
      lab.ns(h.id),
      process.execPath,
      nodeArgs(CLI, ['check', '-c', join(dir, 'anycastd.yaml')]),
    );
    assert.match(check, /ok/);
    // the VIP and host address on lo first, so the service binds them before the agent runs its steps
    // (the check probes the instance at its host address)
    for (const a of [VIP, h.host]) runIn(lab.ns(h.id), 'ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    runIn(lab.ns(h.id), 'ip', ['link', 'set', 'lo', 'up']);
    agents.push(
      lab.procs.start(
        `agent ${h.id}`,
        lab.ns(h.id),
        process.execPath,
        nodeArgs(CLI, ['run', '-c', join(dir, 'anycastd.yaml'), '--pin-dir', join(dir, 'pins', 'anycastd')]),
        join(dir, 'agent.log'),
      ),
    );
    services.push(await startServiceIn(lab.procs, lab.ns(h.id), dir, h.id, [VIP, h.host]));
  }
  const tail = (f: string) =>
    existsSync(f) ? readFileSync(f, 'utf8').split('\n').slice(-12).join('\n') : '';
  lab.onTeardown(() => {
    if (process.exitCode || !done)
      for (const h of HOSTS)
        process.stderr.write(`--- ${h.id} agent log\n${tail(join(lab.dir, h.id, 'agent.log'))}\n`);
  });
  const prefix = `${VIP}/32`;
  const multipaths = async () => (await frrPaths(frrDir, prefix)).filter((p) => p.multipath);
  await waitFor(
    'both hosts advertise the VIP',
    async () => ((await multipaths()).length === 2 ? true : undefined),
    WAIT_MS,
  );
  const fib = () => runIn(tor, 'ip', ['-4', 'route', 'show', prefix]);
  await waitFor(
    'one kernel route, two next hops',
    async () => ((fib().match(/nexthop via/g) ?? []).length === 2 ? true : undefined),
    WAIT_MS,
  );
  const answered = new Set<string>();
  for (let sport = 0; sport < 16; sport++)
    answered.add(
      runIn(tor, 'curl', ['-s', '--max-time', '2', `http://${VIP}:${SERVICE_PORTS.http}/`]).trim(),
    );
  assert.ok(
    [...answered].every((a) => a === 'h1' || a === 'h2'),
    [...answered].join(','),
  );

  for (const h of HOSTS) {
    const ns = lab.ns(h.id);
    assert.doesNotMatch(runIn(ns, 'ip', ['link', 'show', 'up1']), /xdp/, `${h.id}: no XDP program`);
    const pinDir = join(lab.dir, h.id, 'pins');
    assert.deepEqual(readdirSync(pinDir), [], `${h.id}: nothing pinned or made in the pin directory`);
    const agent = agents[HOSTS.indexOf(h)]!;
    const mounts = readFileSync(`/proc/${agent.pid}/mountinfo`, 'utf8');
    // (other labs' bpffs mounts elsewhere on the box are inherited: only ours and the default count)
    const bpfMounts = mounts
      .split('\n')
      .filter((l) => / - bpf /.test(l))
      .map((l) => l.split(' ')[4]!);
    assert.deepEqual(
      bpfMounts.filter((m) => m.startsWith('/sys/fs/bpf') || m.startsWith(lab.dir)),
      [],
      `${h.id}: no bpffs mounted by the agent`,
    );
  }
  const log = readFileSync(join(lab.dir, 'h1', 'agent.log'), 'utf8');
  assert.match(log, /"event":"dataplane-off"/);
  assert.doesNotMatch(log, /"event":"xdp-attached"/);

  // h1's service dies: its path leaves the ToR, h2's stays
  await lab.procs.stop(services[0]!, 'SIGKILL');
  await waitFor('h1 withdrawn', async () => ((await multipaths()).length === 1 ? true : undefined), WAIT_MS);
  const left = await frrPaths(frrDir, prefix);
  assert.deepEqual(
    left.map((p) => p.asPath),
    [String(HOSTS[1].asn)],
  );
  assert.doesNotMatch(fib(), /nexthop/, 'a single next hop left');
  assert.match(fib(), new RegExp(`via ${HOSTS[1].link.h} `));
  assert.equal(
    runIn(tor, 'curl', ['-s', '--max-time', '2', `http://${VIP}:${SERVICE_PORTS.http}/`]).trim(),
    'h2',
  );
  for (const a of agents) assert.equal(a.child.exitCode, null, `${a.label} still runs`);
  assert.ok(!existsSync(join(lab.dir, 'h1', 'pins', 'anycastd')));
  done = true;
});
