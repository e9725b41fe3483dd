// Every CLI command (run-cli.ts: in this process; `show status` and the second test as the real program,
// a process of the built CLI or the source through tsx) against a running control API server whose
// handler sits over a real Dataplane and ConfigStore: human tables and --json, and the exit codes
// scripts rely on (0 ok, 1 failed, 2 usage/config/unknown name, 3 agent not reachable).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ApiServer } from '../../src/api/server.js';
import { testbedHandler } from '../api/handler.js';
import { CLIENT4, openTestbed, WEB_VIP } from '../metrics/fixture.js';
import { flowFrame } from '../steer/packets.js';
import { cli, cliProcess } from './run-cli.js';

test('each command against a running API: tables, --json and exit codes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-cli-'));
  const bed = openTestbed();
  const configFile = join(dir, 'anycastd.yaml');
  const handler = testbedHandler(bed, configFile);
  const socket = join(dir, 'anycastd.sock');
  const server = await ApiServer.listen({ path: socket, handler });
  t.after(async () => {
    await server.close();
    bed.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 5; i++)
    bed.dp.program.testRun({
      data: flowFrame({ family: 4, proto: 'tcp', src: CLIENT4, dst: WEB_VIP, sport: 3000 + i, dport: 80 }),
    });
  const s = ['--socket', socket];

  const [
    status,
    peers,
    peersJson,
    services,
    instances,
    routes,
    rings,
    ringsJson,
    flows,
    flowsJson,
    unknownFlows,
  ] = await Promise.all([
    cliProcess(['show', 'status', ...s]),
    cli(['show', 'peers', ...s]),
    cli(['show', 'peers', '--json', ...s]),
    cli(['show', 'services', ...s]),
    cli(['show', 'instances', 'web', ...s]),
    cli(['show', 'routes', ...s]),
    cli(['show', 'rings', 'web', ...s]),
    cli(['show', 'rings', '--json', ...s]),
    cli(['show', 'flows', WEB_VIP, '--limit', '2', ...s]),
    cli(['show', 'flows', WEB_VIP, '--json', ...s]),
    cli(['show', 'flows', '192.0.2.99', ...s]),
  ]);
  for (const r of [status, peers, peersJson, services, instances, routes, rings, ringsJson, flows, flowsJson])
    assert.equal(r.code, 0, r.stderr);
  assert.match(status.stdout, /^node {8}h1 \(anycastd 0\.1\.0\)$/m);
  assert.match(status.stdout, /^services {4}2\/2 up$/m);
  const peerLines = peers.stdout.trim().split('\n');
  assert.match(
    peerLines[0]!,
    /^PEER +ADDRESS +ASN +STATE +UP +FLAPS +ADV +RCVD +ACCEPTED +REJECTED +BFD +LINK +LAST ERROR$/,
  );
  assert.match(
    peerLines[1]!,
    /^tor1 +203\.0\.113\.1 +65001 +idle +- +0 +0 +0 +0 +nexthop-own-address=1 +- +- +-$/,
  );
  assert.match(peerLines[2]!, /^tor2 .* 0 +- +- +- +-$/);
  assert.equal(peerLines.length, 3);
  const pj = JSON.parse(peersJson.stdout) as {
    peers: { name: string; remoteAsn: number; routesRejected: { reason: string; count: number }[] }[];
  };
  assert.deepEqual(pj.peers[0]!.routesRejected[0], { reason: 'nexthop-own-address', count: 1 });
  assert.deepEqual(
    pj.peers.map((p) => [p.name, p.remoteAsn]),
    [
      ['tor1', 65001],
      ['tor2', 65002],
    ],
  );
  assert.match(services.stdout, /^web +up +yes +no +2\/2 +192\.0\.2\.10 +rise-reached$/m);
  assert.match(instances.stdout, /^web +h1 \(local\) +198\.51\.100\.1 +1 +up +- +yes +no +\d+\.\d%$/m);
  assert.match(instances.stdout, /^web +h2 +\S+ +\d+ +up +drained +(yes|no) +no +\d+\.\d%$/m);
  assert.match(routes.stdout, /^192\.0\.2\.10\/32 +advertised +all +198\.51\.100\.1 +web +0 +- +-$/m);
  assert.match(rings.stdout, /^web +new +65537 +web\/h1 +\d+ +\d+\.\d%$/m);
  const rj = JSON.parse(ringsJson.stdout) as { rings: { service: string; shares: { entries: number }[] }[] };
  assert.deepEqual(
    rj.rings.map((r) => r.service),
    ['web', 'dns'],
  );
  for (const r of rj.rings)
    assert.equal(
      r.shares.reduce((a, x) => a + x.entries, 0),
      65537,
    );
  assert.match(flows.stdout, /^203\.0\.113\.7 +300\d +192\.0\.2\.10 +80 +tcp +web\/h[12]$/m);
  assert.match(flows.stdout, /^2 of 5 flows to 192\.0\.2\.10$/m);
  assert.equal((JSON.parse(flowsJson.stdout) as { total: number; flows: unknown[] }).flows.length, 5);
  assert.equal(unknownFlows.code, 2, 'an unknown VIP is a usage error');
  assert.match(unknownFlows.stderr, /^anycastd: no VIP 192\.0\.2\.99$/m);

  // drain / undrain / reload change state in order
  const drain = await cli(['drain', 'web', ...s]);
  assert.deepEqual([drain.code, drain.stdout], [0, 'web drained\n']);
  assert.equal(handler.drained.has('web'), true);
  const drainJson = await cli(['drain', 'web', '--json', ...s]);
  assert.deepEqual(JSON.parse(drainJson.stdout), { changed: false, message: 'web was already drained' });
  const undrain = await cli(['undrain', 'web', ...s]);
  assert.deepEqual([undrain.code, undrain.stdout], [0, 'web undrained\n']);
  const reload = await cli(['reload', ...s]);
  assert.deepEqual([reload.code, reload.stdout], [0, 'config reloaded: no change\n']);
  const unknown = await cli(['drain', 'nope', '--json', ...s]);
  assert.equal(unknown.code, 2);
  assert.equal((JSON.parse(unknown.stdout) as { code: string }).code, 'NOT_FOUND');
  writeFileSync(configFile, 'node: {}\n');
  const badReload = await cli(['reload', ...s]);
  assert.equal(badReload.code, 2, 'an invalid config file is exit 2');
  assert.match(badReload.stderr, /anycastd\.yaml/);
});

test('exit codes without an agent: 3 unreachable, 2 usage; --help reads like a man page', async () => {
  const [gone, goneJson, usage, missingArg, help] = await Promise.all([
    cliProcess(['show', 'peers', '--socket', '/nonexistent/anycastd.sock']),
    cliProcess(['reload', '--json', '--socket', '/nonexistent/anycastd.sock']),
    cliProcess(['show', 'nothing']),
    cliProcess(['drain']),
    cliProcess(['drain', '--help']),
  ]);
  assert.equal(gone.code, 3);
  assert.match(gone.stderr, /cannot reach the agent at \/nonexistent\/anycastd\.sock: ENOENT/);
  assert.equal(goneJson.code, 3);
  assert.equal((JSON.parse(goneJson.stdout) as { code: string }).code, 'ERR_API_UNREACHABLE');
  assert.equal(usage.code, 2);
  assert.equal(missingArg.code, 2);
  assert.equal(help.code, 0);
  for (const section of [
    /^Usage: anycastd drain \[options\] <service>$/m,
    /^Examples:$/m,
    /^Exit status:$/m,
    /^ {2}3 {2}the agent is not reachable/m,
  ])
    assert.match(help.stdout, section);
});
