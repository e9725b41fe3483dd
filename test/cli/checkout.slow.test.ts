// The product runs without the harness. A build of src/ alone (tsconfig.build.json, as `make ts` makes
// dist/) holds nothing but src/ and runs under plain node, without tsx: --help, check. Laid out as an
// installed package (no lab/ or bench/ beside it), `demo` and `bench` are hidden from --help and say they
// need a source checkout and exit 2. With a lab/demo.ts beside it, as in a checkout, `demo` runs that
// program through tsx: its exit status becomes the command's, and a SIGTERM to the command reaches it
// (so the lab tears down).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DEMO_ENTRY } from '../../src/cli/demo.js';
import { EXIT_USAGE } from '../../src/cli/exit.js';
import { projectRoot } from '../../src/native/addon.js';
import { within } from '../helpers/wait-for.js';

const ROOT = projectRoot();
const BUILD_TIMEOUT_MS = 180_000;
/** A process that exited on SIGTERM's behalf: 128 + 15. */
const EXIT_SIGTERM = 143;
/** What the stand-in demo exits with when told to (DEMO_EXIT). */
const STAND_IN_EXIT = 7;
/** Bound on the stand-in's start (node, tsx, the command's own start). */
const START_TIMEOUT_MS = 20_000;
/** The stand-in for lab/demo.ts: says it runs, tears down on SIGTERM, or exits at once with DEMO_EXIT. */
const STAND_IN_DEMO = `const code = process.env.DEMO_EXIT;
if (code) process.exit(Number(code));
process.on('SIGTERM', () => {
  console.log('torn down');
  process.exit(${EXIT_SIGTERM});
});
console.log('lab running');
setInterval(() => {}, 1_000);
`;

let pkg: string;

before(
  () => {
    pkg = mkdtempSync(join(tmpdir(), 'acd-checkout-'));
    execFileSync(
      join(ROOT, 'node_modules/.bin/tsc'),
      ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')],
      { stdio: 'inherit' },
    );
    copyFileSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  },
  { timeout: BUILD_TIMEOUT_MS },
);

after(() => rmSync(pkg, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node <pkg>/dist/src/cli/main.js args` under plain node: no tsx loader, no NODE_OPTIONS. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(pkg, 'dist/src/cli/main.js'), ...args],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', ...env } },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? null) : 0;
        resolve({ code: typeof code === 'number' ? code : null, stdout, stderr });
      },
    );
  });
}

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

test('the build holds src/ only and runs under plain node: --help, check', async () => {
  assert.deepEqual(readdirSync(join(pkg, 'dist')), ['src']);
  const built = files(join(pkg, 'dist/src'));
  assert.ok(built.includes('cli/main.js'));
  assert.deepEqual(
    built.filter((f) => /^(lab|demo)\//.test(f) || f.startsWith('steer/model')),
    [],
    'no harness compiled into the product',
  );
  const help = await cli(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.doesNotMatch(
    help.stdout,
    /^\s+(demo|bench)\b/m,
    'without a checkout, demo and bench are not offered',
  );
  const check = await cli(['check', '-c', join(ROOT, 'examples/anycastd.yaml')]);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /anycastd\.yaml: ok/);
});

test('as an installed package (no lab/, no bench/ beside it): demo and bench need a checkout, exit 2', async () => {
  for (const [command, entry] of [
    ['demo', DEMO_ENTRY],
    ['bench', 'bench/run.ts'],
  ] as const) {
    const r = await cli([command]);
    assert.equal(r.code, EXIT_USAGE, `${command}: ${r.stderr}`);
    assert.equal(
      r.stderr,
      `anycastd ${command}: needs a source checkout (${entry} is not in ${pkg}; an installed package has none)\n`,
    );
    assert.equal(r.stdout, '');
  }
});

test('in a checkout, demo runs lab/demo.ts: its exit status is the command’s, SIGTERM reaches it', async (t) => {
  mkdirSync(join(pkg, 'lab'));
  writeFileSync(join(pkg, DEMO_ENTRY), STAND_IN_DEMO);
  t.after(() => rmSync(join(pkg, 'lab'), { recursive: true, force: true }));

  const failed = await cli(['demo'], { DEMO_EXIT: String(STAND_IN_EXIT) });
  assert.equal(failed.code, STAND_IN_EXIT, failed.stderr);

  const demo: ChildProcess = spawn(process.execPath, [join(pkg, 'dist/src/cli/main.js'), 'demo'], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => demo.kill('SIGKILL'));
  let out = '';
  const exited = once(demo, 'exit');
  const running = new Promise<void>((resolve, reject) => {
    demo.stdout!.on('data', (d: Buffer) => {
      out += d;
      if (out.includes('lab running')) resolve();
    });
    demo.once('exit', (c) => reject(new Error(`demo exited (${c}) before its lab ran: ${out}`)));
  });
  await within(running, START_TIMEOUT_MS, 'the stand-in lab running');
  demo.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, EXIT_SIGTERM);
  assert.equal(out, 'lab running\ntorn down\n');
});
