// Import policy of a peer (from config `import.accept`): a list of prefix ranges with FRR
// prefix-list semantics (prefix, ge, le); a route is accepted when any entry matches, else rejected.
// Default (config): only the default routes 0.0.0.0/0 and ::/0. Also parses the export communities
// of a peer's config into wire values (RFC 1997 "ASN:VALUE", RFC 8092 "ASN:DATA1:DATA2").

import type { PrefixMatch } from '../config/types.js';
import { ipToBytes } from './codec/addr.js';
import type { LargeCommunity } from './codec/attributes/types.js';
import { Afi } from './codec/constants.js';
import type { Prefix } from './codec/prefix.js';

const BITS_PER_BYTE = 8;
const COMMUNITY_SHIFT = 0x1_0000;

/** True when the first `len` bits of `a` and `b` are equal. */
export function samePrefixBits(a: Buffer, b: Buffer, len: number): boolean {
  const whole = Math.floor(len / BITS_PER_BYTE);
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = len % BITS_PER_BYTE;
  if (rest === 0) return true;
  const mask = (0xff << (BITS_PER_BYTE - rest)) & 0xff;
  return ((a[whole]! ^ b[whole]!) & mask) === 0;
}

interface CompiledMatch {
  afi: number;
  bytes: Buffer;
  length: number;
  ge: number;
  le: number;
}

export class ImportPolicy {
  private readonly entries: CompiledMatch[];

  constructor(matches: readonly PrefixMatch[]) {
    this.entries = matches.map((m) => ({
      afi: m.family === 4 ? Afi.IPV4 : Afi.IPV6,
      bytes: ipToBytes(m.prefix.split('/')[0]!), // config form: "192.0.2.0/24"
      length: m.length,
      ge: m.ge,
      le: m.le,
    }));
  }

  /** Accept (true) or reject (false) a received prefix. */
  accepts(p: Prefix): boolean {
    const bytes = ipToBytes(p.addr);
    return this.entries.some(
      (e) => e.afi === p.afi && p.len >= e.ge && p.len <= e.le && samePrefixBits(e.bytes, bytes, e.length),
    );
  }
}

/** "65000:100" → 0xfde80064 (config has validated the form). */
export function parseCommunity(text: string): number {
  const [asn, value] = text.split(':').map(Number);
  return asn! * COMMUNITY_SHIFT + value!;
}

/** "65000:1:2" → {global, local1, local2}. */
export function parseLargeCommunity(text: string): LargeCommunity {
  const [global, local1, local2] = text.split(':').map(Number);
  return { global: global!, local1: local1!, local2: local2! };
}
