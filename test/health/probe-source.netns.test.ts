// A probe's source address (src/health/probe-source.ts), in a namespace of the test's: a target on this
// host is connected from itself; a target that is not refuses the bind and is probed unbound at once
// (here: no route, so the unbound connect's own error), and stays unbound until the recheck.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createNetns, removeNetnsByPrefix, uniquePrefix } from '../../lab/netns.js';

const prefix = uniquePrefix('vips');
after(() => removeNetnsByPrefix(prefix));
const SOURCE = fileURLToPath(new URL('../../src/health/probe-source.ts', import.meta.url));
const TCP = fileURLToPath(new URL('../../src/health/probe-tcp.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../..', import.meta.url));
const HOST = '2001:db8:77::1';
const NOT_OURS = '2001:db8:77::2';

/** Runs in the namespace: a listener on HOST; probes of HOST and NOT_OURS; prints what each saw. */
const SCRIPT = `
import { createServer } from 'node:net';
import { ProbeSource } from '${SOURCE}';
import { probeTcp } from '${TCP}';
const seen = [];
const srv = createServer((c) => { seen.push(c.remoteAddress); c.destroy(); });
await new Promise((r) => srv.listen(0, '${HOST}', r));
const port = srv.address().port;
const never = new AbortController().signal;
const ours = new ProbeSource('${HOST}');
const a = await probeTcp('${HOST}', port, never, ours);
const other = new ProbeSource('${NOT_OURS}');
const b = await probeTcp('${NOT_OURS}', port, never, other);
srv.close();
console.log(JSON.stringify({ a: [a.ok, a.detail], seen, oursBound: ours.bind ?? null, b: [b.ok, b.detail], otherBound: other.bind ?? null }));
`;

test('a probe binds a target on this host as its source; one that is not is probed unbound', () => {
  const ns = createNetns(prefix);
  execFileSync('ip', ['-n', ns.name, 'addr', 'add', `${HOST}/128`, 'dev', 'lo', 'nodad']);
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', SCRIPT];
  const out = execFileSync('ip', ['netns', 'exec', ns.name, ...node], { encoding: 'utf8', cwd: REPO });
  const r = JSON.parse(out.trim().split('\n').at(-1)!);
  assert.deepEqual(r.a, [true, 'connected']);
  assert.deepEqual(r.seen, [HOST], 'the listener saw the probe come from the target');
  assert.equal(r.oursBound, HOST);
  // not ours: the bind was refused and the unbound connect found no route (no lo address to take instead)
  assert.deepEqual(r.b, [false, 'ENETUNREACH']);
  assert.equal(r.otherBound, null, 'probed unbound until the recheck');
});
