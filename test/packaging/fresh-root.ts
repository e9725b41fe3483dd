// A fresh root to install the .deb into: an overlay of this machine's / (upper layer on a tmpfs) with
// /proc, /sys and /dev bound in, mounted inside a private mount namespace held by one `sleep` process.
// Why an overlay of / rather than a minimal root assembled from package files: the root then holds
// Debian's own nodejs (>= 20) and the runtime libraries *as dpkg knows them*, so `dpkg -i` checks the
// package's Depends against a real dpkg database (a hand-made root would need a hand-made status file,
// which proves nothing) while every write — the package's files, /etc/group, dpkg's database — lands in
// the tmpfs and nothing on the machine changes. The checkout is hidden inside (an empty tmpfs over it), so
// the installed program cannot lean on the source tree. The mount namespace dies with the holder (killed
// by pid in close()), taking every mount with it: no cleanup can be forgotten.
// Commands run in the root through `nsenter -t <holder> -m chroot <root> ...` (both exec, so a process
// started so keeps its pid: the lab tracks its agents by pid).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { within } from '../helpers/wait-for.js';

const READY = 'root-ready';
const READY_TIMEOUT_MS = 20_000;
/** The tmpfs holding the overlay's upper layer: the package and dpkg's copied-up database fit easily. */
const UPPER_SIZE = '512m';

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export class FreshRoot {
  readonly #holder: ChildProcess;
  readonly #dir: string;
  /** The root's path (seen inside the holder's mount namespace only). */
  readonly root: string;

  private constructor(holder: ChildProcess, dir: string) {
    this.#holder = holder;
    this.#dir = dir;
    this.root = join(dir, 'root');
  }

  /** Mounts the root in a new private mount namespace, with `hide` (absolute paths) covered by empty tmpfs. */
  static async create(hide: readonly string[]): Promise<FreshRoot> {
    const dir = mkdtempSync(join(tmpdir(), 'acd-froot-'));
    const r = join(dir, 'root');
    const script = [
      'set -e',
      `mount -t tmpfs -o size=${UPPER_SIZE} acd-froot "${dir}"`,
      `mkdir -p "${dir}/upper" "${dir}/work" "${r}"`,
      `mount -t overlay overlay -o lowerdir=/,upperdir="${dir}/upper",workdir="${dir}/work" "${r}"`,
      `for m in proc sys dev; do mount --rbind "/$m" "${r}/$m"; done`,
      ...hide.map((p) => `mount -t tmpfs acd-hidden "${r}${p}"`),
      `echo ${READY}`,
      'exec sleep infinity',
    ].join('\n');
    const holder = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const fresh = new FreshRoot(holder, dir);
    const lines = createInterface({ input: holder.stdout! });
    const ready = new Promise<void>((resolve, reject) => {
      lines.on('line', (l) => l === READY && resolve());
      holder.once('exit', (code) =>
        reject(new Error(`the root's holder exited ${code} before it was ready`)),
      );
    });
    try {
      await within(ready, READY_TIMEOUT_MS, 'the fresh root mounted');
    } catch (err) {
      await fresh.close();
      throw err;
    }
    return fresh;
  }

  /** The argv prefix that runs a program inside the root (nsenter and chroot both exec). */
  enter(): string[] {
    return ['nsenter', '-t', String(this.#holder.pid), '-m', 'chroot', this.root];
  }

  /** Runs `argv` inside the root. */
  run(argv: readonly string[]): RunResult {
    const [cmd, ...args] = [...this.enter(), ...argv];
    const start = performance.now();
    const r = spawnSync(cmd!, args, { encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - start };
  }

  /**
   * Binds the machine's directory `path` into the root at the same path. Mounts made on the machine
   * after the root (a bpffs) are not seen through it (the namespace is private): give the root its own
   * with bpffs().
   */
  bind(path: string): void {
    this.#inNamespace(['mkdir', '-p', `${this.root}${path}`]);
    this.#inNamespace(['mount', '--bind', path, `${this.root}${path}`]);
  }

  /** Mounts a bpffs of the root's own at `path` (inside the root). */
  bpffs(path: string): void {
    this.#inNamespace(['mkdir', '-p', `${this.root}${path}`]);
    this.#inNamespace(['mount', '-t', 'bpf', 'bpf', `${this.root}${path}`]);
  }

  #inNamespace(argv: readonly string[]): void {
    const r = spawnSync('nsenter', ['-t', String(this.#holder.pid), '-m', ...argv], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')} in the root's namespace: ${r.stderr}`);
  }

  /** Kills the holder (by pid): its mount namespace and every mount in it go. */
  async close(): Promise<void> {
    if (this.#holder.exitCode === null && this.#holder.signalCode === null) {
      const exited = once(this.#holder, 'exit');
      this.#holder.kill('SIGKILL');
      await exited;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
