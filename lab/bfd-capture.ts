// BFD control packets on a link as the wire sees them: tcpdump in a namespace on one interface
// (UDP port 3784, RFC 5881 §4), each packet's capture time by source address. What it gives is the
// interval between one side's transmissions as the other end receives them, independent of either
// daemon's scheduling: a gap longer than the detection time is a session the receiver rightly takes
// Down. Also the diagnostic code (RFC 5880 §4.1) of every packet that says Down, by source, so a
// flap can be blamed: the side sending "Control Detection Time Expired" is the one that gave up.

import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BfdState, decodeControl } from '../src/bfd/codec.js';
import { percentile } from './fabric-scenario.js';
import type { LabProcess, ProcessRegistry } from './processes.js';

const MS_PER_S = 1000;
/** tcpdump -tt: "1700000000.123456 IP 192.0.2.1.49152 > 192.0.2.0.3784: UDP, length 24" (-x adds hex lines). */
const HEADER_RE = /^(\d+\.\d+) IP6? ([0-9a-f.:]+)\.(\d+) > [0-9a-f.:]+\.3784:/i;
const HEX_RE = /^\s+0x([0-9a-f]{4}):\s+((?:[0-9a-f]{4}\s?)+)/i;

export interface GapStats {
  /** Packets seen from this source in the window. */
  packets: number;
  /** Intervals between consecutive packets, ms. */
  p50: number;
  p99: number;
  max: number;
  /** Intervals longer than this many ms (the detection time). */
  over: number;
}

interface Seen {
  at: number;
  /** Down with this diagnostic code (RFC 5880 §4.1), or -1: not a Down packet. */
  downDiag: number;
}

/** A running capture; `stop()` ends it. Times are ms on the wall clock. */
export class BfdCapture {
  readonly #proc: LabProcess;
  readonly #bySource = new Map<string, Seen[]>();
  #pending: { src: string; at: number; hex: string } | undefined;

  constructor(
    private readonly procs: ProcessRegistry,
    ns: string,
    ifname: string,
    dir: string,
  ) {
    this.#proc = procs.start(
      `tcpdump ${ns}`,
      ns,
      'tcpdump',
      ['-i', ifname, '-n', '-tt', '-l', '-x', '-s', '128', 'udp dst port 3784'],
      join(dir, `tcpdump-${ns}.err`),
      { pipeStdout: true },
    );
    createInterface({ input: this.#proc.child.stdout! }).on('line', (l) => this.#line(l));
  }

  #line(l: string): void {
    const h = HEADER_RE.exec(l);
    if (h) {
      this.#flush();
      this.#pending = { src: h[2]!, at: Number(h[1]) * MS_PER_S, hex: '' };
      return;
    }
    const x = HEX_RE.exec(l);
    if (x && this.#pending) this.#pending.hex += x[2]!.replace(/\s/g, '');
  }

  #flush(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = undefined;
    // IPv4 header length from its first byte (IHL), IPv6 40; then UDP 8.
    const first = Number.parseInt(p.hex.slice(0, 2), 16);
    const ipLen = first >> 4 === 4 ? (first & 0xf) * 4 : 40;
    const off = (ipLen + 8) * 2;
    const d = decodeControl(Buffer.from(p.hex.slice(off), 'hex'));
    const downDiag = d.ok && d.packet.state === BfdState.down ? d.packet.diag : -1;
    const list = this.#bySource.get(p.src) ?? [];
    if (list.length === 0) this.#bySource.set(p.src, list);
    list.push({ at: p.at, downDiag });
  }

  /** Interval stats of `source`'s packets captured in [from, to). */
  gaps(source: string, from: number, to: number, detectMs: number): GapStats {
    this.#flush();
    const at = (this.#bySource.get(source) ?? []).filter((s) => s.at >= from && s.at < to).map((s) => s.at);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    return {
      packets: at.length,
      p50: gaps.length ? percentile(gaps, 0.5) : 0,
      p99: gaps.length ? percentile(gaps, 0.99) : 0,
      max: gaps.length ? Math.max(...gaps) : 0,
      over: gaps.filter((g) => g > detectMs).length,
    };
  }

  /** Up→Down edges announced by `source` in [from, to), by diagnostic code. */
  downs(source: string, from: number, to: number): Record<number, number> {
    this.#flush();
    const out: Record<number, number> = {};
    let wasDown = true;
    for (const s of this.#bySource.get(source) ?? []) {
      const down = s.downDiag >= 0;
      if (s.at >= from && s.at < to && down && !wasDown) out[s.downDiag] = (out[s.downDiag] ?? 0) + 1;
      wasDown = down;
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.procs.stop(this.#proc);
  }
}
