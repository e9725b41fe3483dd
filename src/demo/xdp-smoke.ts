// `make demo` until the lab exists: load the test XDP program, attach it natively to a veth in a
// throwaway network namespace, run packets through BPF_PROG_TEST_RUN, detach, and clean up (also
// on error), reporting every step as a line. The namespace is made with `ip` (a demo, not the
// agent's runtime, which uses netlink).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AnycastdError } from '../errors.js';
import {
  attachXdp,
  BpfObject,
  detachXdp,
  ifIndex,
  projectRoot,
  queryXdp,
  withNetns,
} from '../native/index.js';

const OBJECT = join('build', 'bpf', 'test_xdp.bpf.o');
const VETH = 'acd-smoke0';
const PEER = 'acd-smoke1';
/** linux/bpf.h enum xdp_action, by value. */
const XDP_ACTIONS = ['ABORTED', 'DROP', 'PASS', 'TX', 'REDIRECT'] as const;
const XDP_DROP = 1;
const XDP_TX = 3;
const FRAME_LEN = 64;
const TIMED_REPEAT = 100_000;

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function frame(key: number): Buffer {
  const f = Buffer.alloc(FRAME_LEN);
  f[1] = key;
  return f;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** Runs the smoke demo, calling `log` once per step. */
export async function xdpSmoke(log: (line: string) => void): Promise<void> {
  const path = join(projectRoot(), OBJECT);
  if (!existsSync(path))
    throw new AnycastdError('ERR_NATIVE_UNAVAILABLE', `${path} is not built; run \`make\``);
  const ns = `acd-demo-${process.pid}-smoke`;
  let obj: BpfObject | undefined;
  ip(['netns', 'add', ns]);
  log(`created network namespace ${ns}`);
  try {
    ip(['-n', ns, 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', PEER]);
    ip(['-n', ns, 'link', 'set', VETH, 'up']);
    ip(['-n', ns, 'link', 'set', PEER, 'up']);
    log(`created veth pair ${VETH} <-> ${PEER}`);

    obj = BpfObject.open(path);
    obj.setRodata('cfg_mark', Buffer.from([0x42]));
    obj.load();
    const prog = obj.program('xdp_test');
    log(`loaded ${OBJECT}: program ${prog.name} id ${prog.id}, cfg_mark=0x42 set before load`);

    const loaded = obj;
    withNetns(ns, () => {
      const ifindex = ifIndex(VETH);
      attachXdp(ifindex, prog.fd, { mode: 'native' });
      const q = queryXdp(ifindex);
      log(
        `attached natively to ${VETH} (ifindex ${ifindex}): kernel reports program id ${q.progId}, mode ${q.mode}`,
      );

      loaded.map('verdicts').update(u32(7), u32(XDP_TX));
      loaded.map('verdicts').update(u32(8), u32(XDP_DROP));
      for (const key of [0, 7, 8]) {
        const r = prog.testRun({ data: frame(key) });
        const verdict = XDP_ACTIONS[r.retval] ?? String(r.retval);
        log(`test-run frame key ${key}: XDP_${verdict}, byte 0 now 0x${r.data[0]?.toString(16)}`);
      }
      const timed = prog.testRun({ data: frame(0), repeat: TIMED_REPEAT });
      log(`test-run x${TIMED_REPEAT}: ${timed.durationNs} ns per packet`);

      detachXdp(ifindex, { expectedFd: prog.fd });
      log(`detached from ${VETH}: mode now ${queryXdp(ifindex).mode}`);
    });
  } finally {
    obj?.close();
    ip(['netns', 'delete', ns]);
    log(`removed network namespace ${ns}`);
  }
}
