// `checks` end to end over real parts: a real Agent whose health is the real health layer (an exec check
// that runs `sh` and fails writing to stderr, a tcp check against a closed port, both against 127.0.0.1),
// served on the control socket by startOps; the API's reply, `anycastd show checks` as text and --json,
// and `show services` naming the check and what it found. No data plane (dataplane.mode none).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../../lab/exec.js';
import { Agent } from '../../src/agent/agent.js';
import { silentSink } from '../../src/agent/log.js';
import { NoSteering } from '../../src/agent/no-steering.js';
import { callOnce } from '../../src/api/client.js';
import { parseConfig } from '../../src/config/load.js';
import { realHealth } from '../../src/daemon/health.js';
import { startOps } from '../../src/daemon/ops.js';
import { OUTPUT_MAX_LINES } from '../../src/health/output-capture.js';
import { FakeAnnouncer, FakeHost, Recorder } from '../agent/fakes.js';
import { cli } from '../cli/run-cli.js';

/** A port nothing listens on: bound once to learn a free one, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

const STDERR_LINES = ['db: connection refused', 'pool: 0 of 4 backends', 'l3', 'l4', 'l5', 'l6', 'l7'];
/**
 * Each check runs once in the test and must end by its probe's own result, never by its timeout: timeouts
 * far above what a loaded box needs to start `sh`, so the result (exit 3, ECONNREFUSED, exit 0) and the
 * latency's bound (below the timeout, or it would have been a timeout) hold whatever the load.
 */
const EXEC_TIMEOUT_S = 10;
const CHECK_INTERVAL_S = 20;

test('show checks: last result, reason, latency, exec stderr; show services names the check', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'acd-checks-'));
  const port = await closedPort();
  const script = `${STDERR_LINES.map((l) => `echo '${l}' >&2`).join('; ')}; printf 'esc\\033[2J\\n' >&2; exit 3`;
  const yaml = `node: { id: h1, host: { ipv4: 127.0.0.1 }, asn: 4200000011 }
bgp: { peers: [{ name: tor1, address: 198.51.100.0, remote_asn: 65001 }] }
services:
  - name: web
    vips: [203.0.113.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances: [{ id: h1, host: { ipv4: 127.0.0.1 } }]
    checks:
      - { type: exec, command: [sh, -c, '${script.replace(/'/g, "''")}'], interval: ${CHECK_INTERVAL_S}s, timeout: ${EXEC_TIMEOUT_S}s }
      - { type: tcp, port: ${port}, interval: ${CHECK_INTERVAL_S}s, timeout: ${EXEC_TIMEOUT_S}s }
    drain_file: ${dir}/drain-web
  - name: dns
    vips: [203.0.113.53]
    ports: [{ protocol: udp, port: 53 }]
    instances: [{ id: h1, host: { ipv4: 127.0.0.1 } }]
    checks: [{ type: exec, command: ["true"], interval: ${CHECK_INTERVAL_S}s, timeout: ${EXEC_TIMEOUT_S}s, rise: 1 }]
    drain_file: ${dir}/drain-dns
dataplane: { mode: none }
api: { socket: ${dir}/anycastd.sock }
metrics: { listen: "127.0.0.1:9469" }
`;
  const config = parseConfig(yaml, join(dir, 'anycastd.yaml'));
  const agent = new Agent(config, {
    announcer: new FakeAnnouncer(new Recorder()),
    host: new FakeHost(new Recorder()),
    steering: new NoSteering(),
    health: realHealth(),
    sink: silentSink,
    flushTimeoutMs: 200,
  });
  const socket = join(dir, 'anycastd.sock');
  const ops = await startOps(
    { agent, version: '0.1.0', startedAt: Date.now() },
    { metricsListen: '127.0.0.1:0', socket },
  );
  t.after(async () => {
    await agent.stop(500);
    await ops.close();
    rmSync(dir, { recursive: true, force: true });
  });
  agent.start();
  const before = Date.now() / 1000;
  const reply = await waitFor(
    'every check ran',
    async () => {
      const r = await callOnce(socket, 'checks', { service: '' });
      return r.checks.every((c) => c.lastResult !== 'none') && r.checks.some((c) => c.state === 'up')
        ? r
        : undefined;
    },
    10_000,
  );
  const byName = new Map(reply.checks.map((c) => [`${c.service}/${c.name}`, c]));
  assert.deepEqual([...byName.keys()].sort(), ['dns/exec#0', 'web/exec#0', 'web/tcp#1']);
  const exec = byName.get('web/exec#0')!;
  assert.equal(exec.type, 'exec');
  assert.equal(exec.state, 'down');
  assert.equal(exec.lastResult, 'failed');
  assert.equal(exec.reason, 'exit 3');
  assert.ok(exec.latencySeconds > 0 && exec.latencySeconds < EXEC_TIMEOUT_S, String(exec.latencySeconds));
  assert.ok(exec.lastRun >= before - 1 && exec.lastRun <= Date.now() / 1000 + 1);
  assert.ok(exec.failures >= 1);
  assert.deepEqual(exec.output.split('\n'), [...STDERR_LINES.slice(0, OUTPUT_MAX_LINES), '…']);
  const tcp = byName.get('web/tcp#1')!;
  assert.deepEqual(
    [tcp.state, tcp.lastResult, tcp.reason, tcp.output],
    ['down', 'failed', 'ECONNREFUSED', ''],
  );
  const ok = byName.get('dns/exec#0')!;
  assert.deepEqual([ok.state, ok.lastResult, ok.reason, ok.output], ['up', 'ok', 'exit 0', '']);
  assert.ok(ok.successes >= 1);

  const [text, json, web, services] = await Promise.all([
    cli(['show', 'checks', '--socket', socket]),
    cli(['show', 'checks', '--json', '--socket', socket]),
    cli(['show', 'checks', 'web', '--json', '--socket', socket]),
    cli(['show', 'services', '--socket', socket]),
  ]);
  for (const r of [text, json, web, services]) assert.equal(r.code, 0, r.stderr);
  assert.match(
    text.stdout,
    /^web +h1 \(local\) +exec#0 +down +failed +exit 3 +\d+\.\dms +\d+s +\d+ failed$/m,
  );
  assert.match(text.stdout, /^web +h1 \(local\) +tcp#1 +down +failed +ECONNREFUSED /m);
  assert.match(
    text.stdout,
    /^web\/h1 exec#0 stderr:\n {2}\| db: connection refused\n {2}\| pool: 0 of 4 backends\n/m,
  );
  assert.ok(!text.stdout.includes('\u001b'), 'no escape sequence reaches the terminal');
  assert.equal(JSON.parse(json.stdout).checks.length, 3);
  assert.deepEqual(
    JSON.parse(web.stdout).checks.map((c: { name: string }) => c.name),
    ['exec#0', 'tcp#1'],
  );
  assert.match(
    services.stdout,
    /^web +down .* check-failed (exec#0: exit 3|tcp#1: ECONNREFUSED) \((?:\d+[dhms]){1,2} ago\)$/m,
  );
});
