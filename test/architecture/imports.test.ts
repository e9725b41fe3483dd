// The import graph of src/ runs one way. Every import of every file under src/ (static `import … from`,
// `import type`, `export … from`, dynamic `import()`) is resolved to the folder it lands in, and each
// arrow between two folders must point to a lower rank of LAYERS; no folder may reach itself through
// others (a circle), and nothing under src/ may import from outside it (the lab, bench and tests sit
// beside the product, never inside it). The folder graph is printed as the test's diagnostics.
//
//   8  cli
//   7  daemon                            the composition root: the wiring of one process
//   6  api                               views the running agent, never the daemon
//   5  agent     metrics                 side by side: neither imports the other
//   4  bgp
//   3  health    host    steer  cluster  bfd
//   2  native
//   1  config    netlink log
//   0  clock     errors
//
// An arrow may skip ranks (the agent imports config) but never climbs or stays level.
// A contract a lower layer needs (the announcer, the clock, what the metrics read) lives in that lower
// layer, and the upper one implements it. src/clock.ts and src/errors.ts count as folders of their own.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');

/** Rank of each folder of src/: an import may only go to a folder of a lower rank. */
const LAYERS: Readonly<Record<string, number>> = {
  cli: 8, // the `anycastd` command line
  daemon: 7, // the composition root: the wiring of one process
  api: 6, // the operator's view of a running agent and the control socket
  agent: 5, // turns health transitions into ordered actions
  metrics: 5, // the Prometheus exposition, beside the agent: reads the lower layers through its own contract
  bgp: 4, // the BGP speaker (installs its learned default route through host/)
  health: 3, // the checks
  host: 3, // lo addresses and kernel routes
  steer: 3, // the data plane's maps and rings
  cluster: 3, // what the other hosts say of their instances
  bfd: 3, // peer liveness below BGP: BFD sessions (RFC 5880/5881) and link state; the daemon tells the speaker
  native: 2, // the native binding's typed face
  config: 1, // the config file: schema, load, reload
  netlink: 1, // pure-TS codecs of netlink messages, routes and IP addresses
  log: 1, // log lines limited per key
  http: 1, // what every HTTP listener answers to a request its parser refused
  clock: 0, // the one injected clock
  errors: 0, // every error code
};

/**
 * Imports from src/ to outside it that are let through, as `<importing file> -> <imported path>` (both from
 * the repository root). Empty: the product imports nothing of the harness.
 */
const OUTSIDE_ALLOWED: ReadonlySet<string> = new Set<string>([]);

interface Arrow {
  from: string;
  to: string;
  files: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The folder of src/ a path lands in (src/clock.ts → clock), or null outside src/. */
function folderOf(path: string): string | null {
  const rel = relative(SRC, path);
  if (rel.startsWith('..')) return null;
  const [first] = rel.split(sep);
  return first!.replace(/\.(ts|js)$/, '');
}

/** Every relative module specifier a source text imports, re-exports or loads dynamically. */
function specifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((i) => i.fileName).filter((name) => name.startsWith('.'));
}

const importsOf = (file: string): string[] => specifiers(readFileSync(file, 'utf8'));

function scan(): { arrows: Map<string, Arrow>; outside: string[] } {
  const arrows = new Map<string, Arrow>();
  const outside: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file)!;
    for (const spec of importsOf(file)) {
      const target = resolve(dirname(file), spec);
      const to = folderOf(target);
      const site = relative(ROOT, file);
      if (to === null) {
        outside.push(`${site} -> ${relative(ROOT, target)}`);
        continue;
      }
      if (to === from) continue;
      const key = `${from} -> ${to}`;
      const arrow = arrows.get(key) ?? { from, to, files: [] };
      if (!arrow.files.includes(site)) arrow.files.push(site);
      arrows.set(key, arrow);
    }
  }
  return { arrows, outside };
}

/** The folders that reach themselves: strongly connected components of more than one folder (Tarjan). */
function circles(arrows: Iterable<Arrow>): string[][] {
  const next = new Map<string, string[]>();
  for (const a of arrows) next.set(a.from, [...(next.get(a.from) ?? []), a.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) found.push(component.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return found;
}

const { arrows, outside } = scan();
const sorted = [...arrows.values()].sort(
  (a, b) =>
    (LAYERS[b.from] ?? 0) - (LAYERS[a.from] ?? 0) || a.from.localeCompare(b.from) || a.to.localeCompare(b.to),
);
const upward = sorted.filter((a) => (LAYERS[a.to] ?? Infinity) >= (LAYERS[a.from] ?? -Infinity));

test('the scanner sees every form of import', () => {
  const text = [
    "import a from './a.js';",
    "import type { B } from './b.js';",
    "export { c } from './c.js';",
    "export * from './d.js';",
    "const e = await import('./e.js');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(specifiers(text), ['./a.js', './b.js', './c.js', './d.js', './e.js']);
});

test('the folder graph of src/ (printed)', (t) => {
  for (const a of sorted) {
    const mark = upward.includes(a) ? '  UPWARD' : '';
    t.diagnostic(`${a.from} -> ${a.to} (${a.files.length} files)${mark}`);
  }
  assert.ok(sorted.length > 0, 'no imports found under src/');
});

test('every folder of src/ has a rank in the layer table', () => {
  const folders = new Set(sourceFiles(SRC).map((f) => folderOf(f)!));
  const unranked = [...folders].filter((f) => !(f in LAYERS));
  assert.deepEqual(unranked, [], 'give each new folder a line in LAYERS');
});

test('imports point down only: no arrow to a folder of the same or a higher rank', () => {
  const found = upward.map(
    (a) => `${a.from} (${LAYERS[a.from]}) -> ${a.to} (${LAYERS[a.to]}): ${a.files.join(', ')}`,
  );
  assert.deepEqual(found, []);
});

test('no circle between folders', () => {
  assert.deepEqual(circles(arrows.values()), []);
});

test('src/ imports nothing outside src/', () => {
  assert.deepEqual(
    outside.filter((o) => !OUTSIDE_ALLOWED.has(o)),
    [],
  );
});
