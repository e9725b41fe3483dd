// Parses the kernel's /proc/net/tcp and /proc/net/tcp6 tables (one socket per line; see the kernel's
// Documentation/networking/proc_net_tcp.rst) for listening sockets: local address and port of every entry
// in state TCP_LISTEN. Addresses are printed as host-order 32-bit words in hex (little-endian here).
//
// Cost: the kernel prints the listening hash first, then the established hash (net/ipv4/tcp_ipv4.c,
// tcp_seq_start: TCP_SEQ_STATE_LISTENING before ESTABLISHED; request sockets live in the established hash
// since Linux 4.4). readListeners() therefore reads in small chunks and stops at the first line that is not
// LISTEN, so a poll costs O(listeners), not O(all sockets): reading the whole table with ~2,000
// TIME_WAIT sockets took ~11 ms per poll here, the listening prefix a few tens of µs.

import { open } from 'node:fs/promises';
import { isIPv4 } from 'node:net';

/** TCP_LISTEN in include/net/tcp_states.h. */
export const TCP_LISTEN = 0x0a;
const WORD_HEX = 8;
const IPV6_WORDS = 4;

export interface Listener {
  address: string;
  port: number;
}

function wordBytes(hex: string): number[] {
  const w = Number.parseInt(hex, 16);
  // /proc prints the in-memory u32; on a little-endian host its first byte in memory is the lowest.
  return [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, (w >>> 24) & 0xff];
}

export function decodeProcAddress(hex: string): string {
  if (hex.length === WORD_HEX) return wordBytes(hex).join('.');
  const bytes: number[] = [];
  for (let i = 0; i < IPV6_WORDS; i++) bytes.push(...wordBytes(hex.slice(i * WORD_HEX, (i + 1) * WORD_HEX)));
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const text = new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
  return text;
}

/** One table line (not the header): the listener it shows, or null if it is not a LISTEN entry. */
function parseLine(line: string): Listener | null {
  const f = line.trim().split(/\s+/);
  if (f.length < 4 || Number.parseInt(f[3]!, 16) !== TCP_LISTEN) return null;
  const [addr, port] = f[1]!.split(':');
  return { address: decodeProcAddress(addr!), port: Number.parseInt(port!, 16) };
}

/** The LISTEN entries of one whole /proc/net/tcp{,6} table. */
export function parseListeners(table: string): Listener[] {
  return table
    .split('\n')
    .slice(1)
    .map(parseLine)
    .filter((l): l is Listener => l !== null);
}

const CHUNK = 16 * 1024;

/**
 * Reads the listening prefix of a /proc/net/tcp{,6} table (see the cost note above); [] when the table
 * does not exist (no IPv6). Any other error (EMFILE: this process has no fd to spare) is thrown: an empty
 * list would say every listener is gone.
 */
export async function readListeners(path: string): Promise<Listener[]> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Listener[] = [];
  try {
    const buf = Buffer.alloc(CHUNK);
    let rest = '';
    let header = true;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return out;
      const lines = (rest + buf.toString('latin1', 0, bytesRead)).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (header) {
          header = false;
          continue;
        }
        const l = parseLine(line);
        if (l === null) return out; // past the listening hash
        out.push(l);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Whether `l` accepts connections for `address` (exact, or a wildcard of the same family, or v4 via ::). */
export function listenerCovers(l: Listener, address: string): boolean {
  if (l.address === address) return true;
  if (l.address === '0.0.0.0') return isIPv4(address);
  return l.address === '::';
}
