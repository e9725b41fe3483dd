// The lab's load generator: HTTP GETs on fresh connections (no keep-alive, so every request is also a
// connection the service accepts) to a target, `--concurrency` at a time, each worker pausing
// `--pause-ms` between requests (0: as fast as the machine goes), until SIGTERM/SIGINT; then prints one
// JSON line: { ok, errors, byHost: {h1: n, ...}, elapsedMs }. Run inside the client namespace:
//   ip netns exec <ns> node --import tsx lab/load.ts --target 203.0.113.10 --concurrency 64
import { get } from 'node:http';
import { parseArgs } from 'node:util';
import { SERVICE_PORTS } from './addressing.js';

const REQUEST_TIMEOUT_MS = 2_000;
/** byHost keys: the service answers with its host id; anything else is counted under this. */
const MAX_HOST_KEYS = 64;

const { values } = parseArgs({
  options: {
    target: { type: 'string' },
    port: { type: 'string', default: String(SERVICE_PORTS.http) },
    concurrency: { type: 'string', default: '8' },
    'pause-ms': { type: 'string', default: '0' },
  },
});
if (!values.target) {
  process.stderr.write('usage: load.ts --target <addr> [--port p] [--concurrency n] [--pause-ms ms]\n');
  process.exit(2);
}
const target = values.target;
const port = Number(values.port);
const pauseMs = Number(values['pause-ms']);
const stats = { ok: 0, errors: 0, byHost: {} as Record<string, number> };
const started = performance.now();
let running = true;

function once(): Promise<void> {
  return new Promise((resolve) => {
    const req = get({ host: target, port, path: '/', agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => {
        if (res.statusCode === 200) {
          stats.ok++;
          const id = body.trim();
          const key = id in stats.byHost || Object.keys(stats.byHost).length < MAX_HOST_KEYS ? id : 'other';
          stats.byHost[key] = (stats.byHost[key] ?? 0) + 1;
        } else stats.errors++;
        resolve();
      });
      res.on('error', () => {
        stats.errors++;
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      stats.errors++;
      resolve();
    });
  });
}

async function worker(): Promise<void> {
  while (running) {
    await once();
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

const workers = Array.from({ length: Number(values.concurrency) }, () => worker());
const stop = (): void => {
  running = false;
  process.stdout.write(
    `${JSON.stringify({ ...stats, elapsedMs: Math.round(performance.now() - started) })}\n`,
  );
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
await Promise.all(workers);
