// Parses the kernel's /proc/net/tcp and /proc/net/tcp6 tables (one socket per line; see the kernel's
// Documentation/networking/proc_net_tcp.rst) for listening sockets: local address and port of every entry
// in state TCP_LISTEN. Addresses are printed as host-order 32-bit words in hex (little-endian here).

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

/** The LISTEN entries of one /proc/net/tcp{,6} table. */
export function parseListeners(table: string): Listener[] {
  const out: Listener[] = [];
  const lines = table.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.trim().split(/\s+/);
    if (f.length < 4 || Number.parseInt(f[3]!, 16) !== TCP_LISTEN) continue;
    const [addr, port] = f[1]!.split(':');
    out.push({ address: decodeProcAddress(addr!), port: Number.parseInt(port!, 16) });
  }
  return out;
}

/** Whether `l` accepts connections for `address` (exact, or a wildcard of the same family, or v4 via ::). */
export function listenerCovers(l: Listener, address: string): boolean {
  if (l.address === address) return true;
  if (l.address === '0.0.0.0') return isIPv4(address);
  return l.address === '::';
}
