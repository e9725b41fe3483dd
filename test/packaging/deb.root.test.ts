// The Debian package, built and installed as a server would get it: `scripts/build-deb.sh` (what `make
// deb` runs) from this tree's build, `dpkg -i` into a fresh root (test/packaging/fresh-root.ts: an overlay
// of / in a private mount namespace, the checkout hidden), then from the installed files only:
// `anycastd --version` prints package.json's version; `anycastd check` passes the installed example
// conffile; `demo` and `bench` are absent from --help and refuse (exit 2), and /usr/lib/anycastd holds no
// lab/ or bench/; the package's Depends are nodejs (>= 20) and the addon's libraries, no compiler or
// routing daemon. Then the lab runs h1's agent from the installed /usr/bin/anycastd (lab/agents.ts with
// its command overridden): h1's VIP reaches both ToRs and the spine, and a SIGTERM stops it with exit 0.
// Prints the package size and the install time.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HostAgents } from '../../lab/agents.js';
import { waitVipAt } from '../../lab/fabric-checks.js';
import { buildLab, type Lab } from '../../lab/topology.js';
import { projectRoot } from '../../src/native/addon.js';
import { FreshRoot } from './fresh-root.js';

const ROOT = projectRoot();
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const EXAMPLE = '/etc/anycastd/anycastd.yaml';
/** Building the package copies dist/ and node_modules and runs dpkg-shlibdeps: seconds, more on a busy box. */
const BUILD_TIMEOUT_MS = 180_000;
/** Nothing a server runs anycastd with may be a build tool or a routing daemon. */
const FORBIDDEN_DEPENDS = /\b(clang|gcc|g\+\+|make|llvm|frr|bird|bird2|prometheus|node-gyp|python3?)\b/;
const log = (l: string): void => void process.stderr.write(`${l}\n`);

let out: string;
let deb: string;
let fresh: FreshRoot | undefined;
let lab: Lab | undefined;

before(
  async () => {
    out = mkdtempSync(join(tmpdir(), 'acd-deb-'));
    deb = execFileSync(join(ROOT, 'scripts/build-deb.sh'), [out], { encoding: 'utf8' }).trim();
    fresh = await FreshRoot.create([ROOT]);
  },
  { timeout: BUILD_TIMEOUT_MS },
);

after(async () => {
  lab?.teardown();
  await fresh?.close();
  rmSync(out, { recursive: true, force: true });
});

function control(field: string): string {
  return execFileSync('dpkg-deb', ['--field', deb, field], { encoding: 'utf8' }).trim();
}

test('the package: name, depends on nodejs (>= 20) and runtime libraries only, no harness inside', () => {
  assert.equal(
    deb,
    join(
      out,
      `anycastd_${VERSION}_${execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim()}.deb`,
    ),
  );
  const depends = control('Depends');
  assert.match(depends, /^nodejs \(>= 20\), /);
  assert.match(depends, /libbpf1/);
  assert.doesNotMatch(depends, FORBIDDEN_DEPENDS);
  const files = execFileSync('dpkg-deb', ['--contents', deb], { encoding: 'utf8', maxBuffer: 1 << 24 });
  for (const path of [
    './usr/bin/anycastd',
    './usr/lib/anycastd/dist/src/cli/main.js',
    './usr/lib/anycastd/native/build/Release/anycastd.node',
    './usr/lib/anycastd/build/bpf/steer.bpf.o',
    './usr/lib/anycastd/node_modules/commander/package.json',
    './lib/systemd/system/anycastd.service',
    './usr/lib/sysusers.d/anycastd.conf',
    './usr/share/man/man8/anycastd.8.gz',
    './usr/share/bash-completion/completions/anycastd',
    `.${EXAMPLE}`,
  ])
    assert.ok(files.includes(` ${path}\n`), `${path} in the package`);
  // Our own tree only: a runtime dependency may ship its own bench/ or test/ (@protobufjs/float does).
  const ours = files
    .split('\n')
    .filter((line) => !line.includes('/node_modules/') || /node_modules\/(typescript|tsx)\//.test(line))
    .join('\n');
  for (const absent of [
    '/lab/',
    '/bench/',
    '/model/',
    '/test/',
    'node_modules/typescript/',
    'node_modules/tsx/',
  ])
    assert.ok(
      !files.includes(`./usr/lib/anycastd${absent}`) && !ours.includes(absent.slice(1)),
      `no ${absent}`,
    );
  const conffiles = execFileSync('sh', ['-c', `dpkg-deb --ctrl-tarfile '${deb}' | tar -xOf - ./conffiles`], {
    encoding: 'utf8',
  });
  assert.equal(conffiles.trim(), EXAMPLE);
  log(
    `package: ${deb} ${statSync(deb).size} bytes, installed ${control('Installed-Size')} KiB; Depends: ${depends}`,
  );
});

test('installed into a fresh root: --version, check of the example, no demo/bench', () => {
  const root = fresh!;
  assert.notEqual(root.run(['dpkg-query', '-W', 'anycastd']).status, 0, 'the root starts without anycastd');
  assert.notEqual(root.run(['test', '-e', join(ROOT, 'package.json')]).status, 0, 'the checkout is hidden');
  const install = root.run(['dpkg', '-i', deb]);
  assert.equal(install.status, 0, install.stderr);
  log(`install: dpkg -i took ${Math.round(install.ms)} ms (with its man-db trigger)`);
  assert.match(root.run(['dpkg', '-s', 'anycastd']).stdout, /^Status: install ok installed$/m);
  assert.equal(root.run(['getent', 'group', 'anycastd']).status, 0, 'postinst made the group');

  const version = root.run(['anycastd', '--version']);
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout, `${VERSION}\n`);
  const check = root.run(['anycastd', 'check', '-c', EXAMPLE]);
  assert.equal(check.status, 0, check.stderr);
  assert.equal(check.stdout, `${EXAMPLE}: ok\n`);

  const help = root.run(['anycastd', '--help']);
  assert.equal(help.status, 0);
  assert.doesNotMatch(help.stdout, /^\s+(demo|bench)\b/m, 'no demo/bench in the package’s --help');
  for (const cmd of ['demo', 'bench']) {
    const r = root.run(['anycastd', cmd]);
    assert.equal(r.status, 2, `${cmd} refuses`);
    assert.match(r.stderr, /needs a source checkout/);
  }
  assert.notEqual(root.run(['test', '-e', '/usr/lib/anycastd/lab']).status, 0);
  assert.notEqual(root.run(['test', '-e', '/usr/lib/anycastd/bench']).status, 0);
});

test('the lab runs an agent from the installed files', async () => {
  const root = fresh!;
  lab = await buildLab({ log });
  const agents = new HostAgents(lab, { command: [...root.enter(), '/usr/bin/anycastd'] });
  await agents.prepare();
  root.bind(lab.dir); // the agent's config, socket, drain file
  root.bpffs(agents.bpffs); // its pins (the lab's bpffs, mounted after the root, is not seen inside)
  try {
    await agents.start('h1');
  } catch (err) {
    log(`the installed agent's log:\n${readFileSync(agents.paths('h1').log, 'utf8')}`);
    throw err;
  }
  const { ms } = await waitVipAt(lab, ['h1']);
  log(`installed agent: h1's VIP at both ToRs and the spine ${Math.round(ms)} ms after XDP attached`);
  const proc = agents.running('h1')!;
  await agents.stop('h1');
  assert.equal(await proc.exited, 0, 'SIGTERM: withdraw, Cease, exit 0');
});
