// runDaemon's failure paths, in process: an invalid config exits 2 with one `config-rejected` line, a
// host it cannot set up (no such uplink) exits 1 with `agent-failed` naming the errno, and neither
// leaves a signal handler behind.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../lab/exec.js';
import type { LogRecord } from '../../src/agent/log.js';
import { systemClock } from '../../src/clock.js';
import { EXIT_CONFIG, EXIT_FAILED, runDaemon } from '../../src/daemon/run.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'acd-agent-run-'));
  mkdirSync(join(dir, 'bpffs'));
  run('mount', ['-t', 'bpf', 'bpf', join(dir, 'bpffs')]);
});
after(() => {
  try {
    run('umount', [join(dir, 'bpffs')]);
  } catch {
    // not mounted
  }
  rmSync(dir, { recursive: true, force: true });
});

const SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT'] as const;
const handlers = () => SIGNALS.map((s) => process.listenerCount(s));

test('an invalid config: exit 2, one config-rejected line naming the file and key', async () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'node: { id: h1 }\nsurprise: 1\n');
  const lines: LogRecord[] = [];
  const before = handlers();
  const code = await runDaemon({ configFile: file, clock: systemClock, sink: (r) => lines.push(r) });
  assert.equal(code, EXIT_CONFIG);
  assert.deepEqual(
    lines.map((l) => l.event),
    ['config-rejected'],
  );
  assert.match(String((lines[0]!.error as Error).message), /bad\.yaml:2:1: surprise/);
  assert.deepEqual(handlers(), before);
});

test('an uplink that does not exist: exit 1, agent-failed with ENODEV, handlers removed', async () => {
  const file = join(dir, 'a.yaml');
  writeFileSync(
    file,
    `node: { id: h1, host: { ipv4: 198.51.100.1 }, asn: 65001, uplinks: [acd-no-such0] }
services:
  - name: web
    vips: [192.0.2.10]
    ports: [{ protocol: tcp, port: 80 }]
    instances: [{ id: h1, host: { ipv4: 198.51.100.1 } }]
    checks: [{ type: tcp, port: 80 }]
    drain_file: ${join(dir, 'drain')}
dataplane: { ring_size: 251 }
`,
  );
  const lines: LogRecord[] = [];
  const before = handlers();
  const code = await runDaemon({
    configFile: file,
    clock: systemClock,
    pinDir: join(dir, 'bpffs', 'pins'),
    sink: (r) => lines.push(r),
    announcer: async () => assert.fail('no announcer before the data plane is up'),
  });
  assert.equal(code, EXIT_FAILED);
  const failed = lines.find((l) => l.event === 'agent-failed');
  assert.ok(failed, 'agent-failed logged');
  assert.equal((failed.error as { code?: string }).code, 'ENODEV');
  assert.deepEqual(handlers(), before);
});
