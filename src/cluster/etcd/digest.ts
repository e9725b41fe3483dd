// The digest of a service's rings as the store makes them (membership.ts): SHA-256 over the canonical
// text of both ring kinds' members — id, weight and host addresses, sorted by id — and the ring size,
// cut to DIGEST_HEX hex digits. Equal digests mean byte-identical Maglev tables (the table is a pure
// function of these); hosts at the same revision must show the same digest (agreement.ts checks).

import { createHash } from 'node:crypto';
import type { Member } from './membership.js';

const DIGEST_HEX = 16;

const line = (m: Member): string => `${m.id}*${m.weight}@${m.host.ipv4 ?? '-'},${m.host.ipv6 ?? '-'}`;

export function ringDigest(
  ringSize: number,
  newRing: readonly Member[],
  established: readonly Member[],
): string {
  const text = `size ${ringSize}\nnew ${newRing.map(line).join(' ')}\nestablished ${established.map(line).join(' ')}\n`;
  return createHash('sha256').update(text).digest('hex').slice(0, DIGEST_HEX);
}
