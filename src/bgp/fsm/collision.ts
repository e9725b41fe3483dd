// Connection collision resolution (RFC 4271 §6.8): when both speakers opened a connection, the one
// opened by the speaker with the higher BGP identifier (compared as 32-bit unsigned integers) stays.

import { ipv4ToBytes } from '../codec/addr.js';

export type Direction = 'inbound' | 'outbound';

/** Which of two colliding connections to keep, seen from the local speaker. */
export function collisionSurvivor(localId: string, remoteId: string): Direction {
  const local = ipv4ToBytes(localId).readUInt32BE(0);
  const remote = ipv4ToBytes(remoteId).readUInt32BE(0);
  // §6.8: if the local identifier is lower, close the connection the local system initiated.
  return local < remote ? 'inbound' : 'outbound';
}
