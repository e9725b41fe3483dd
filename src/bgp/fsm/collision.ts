// Connection collision resolution (RFC 4271 §6.8) and what to do with a second connection from the
// peer. The rule compares the right pair: only two connections that both carry the peer's OPEN collide
// (ours in OpenConfirm or Established, or ours in OpenSent once the held one told us the peer's BGP
// identifier, §6.8 "known by other means"); then the one opened by the speaker with the higher BGP
// identifier (compared as 32-bit unsigned integers) stays. A connection of ours that never carried an
// OPEN from the peer (silent, stalled in Active/Connect/OpenSent) never keeps out one that did.

import { ipv4ToBytes } from '../codec/addr.js';
import type { FsmState } from './types.js';

export type Direction = 'inbound' | 'outbound';

/** Which of two colliding connections to keep, seen from the local speaker. */
export function collisionSurvivor(localId: string, remoteId: string): Direction {
  const local = ipv4ToBytes(localId).readUInt32BE(0);
  const remote = ipv4ToBytes(remoteId).readUInt32BE(0);
  // §6.8: if the local identifier is lower, close the connection the local system initiated.
  return local < remote ? 'inbound' : 'outbound';
}

/** The session's own connection when a held inbound one delivers its OPEN. */
export interface OwnConnection {
  state: FsmState;
  /** Who opened the session's connection; undefined when it has none. */
  direction: Direction | undefined;
  /** The TCP connection is up (not still connecting). */
  connected: boolean;
  /** The peer advertised graceful restart (RFC 4724) on the session now Established. */
  peerRestarts: boolean;
}

/**
 * What becomes of a held inbound connection that sent a valid-looking OPEN:
 * - `adopt`: it becomes the session's connection; ours (if any) is closed — with Cease 6/7 when the two
 *   collided (`dropOurs: 'collision'`), with Cease 6/5 (RFC 4486 Connection Rejected) when ours never
 *   carried the peer's OPEN and was not our own attempt (`'stalled'`), silently when there is none;
 * - `restart`: the Established peer opened anew with graceful restart: it restarted (RFC 4724 §4.2),
 *   the old session ends without a NOTIFICATION (its routes kept stale) and this one is taken;
 * - `defer`: our own attempt is the §6.8 survivor and has not heard the peer yet: hold this one until
 *   ours gets the peer's OPEN (then `reject`) or fails or stalls (then `adopt`);
 * - `reject`: a collision this one lost: Cease 6/7.
 */
export type HeldVerdict =
  | { action: 'adopt'; dropOurs: 'collision' | 'stalled' | 'none' }
  | { action: 'restart' }
  | { action: 'defer' }
  | { action: 'reject' };

export function resolveHeld(own: OwnConnection, localId: string, peerId: string): HeldVerdict {
  if (own.state === 'established') return own.peerRestarts ? { action: 'restart' } : { action: 'reject' };
  const survivor = collisionSurvivor(localId, peerId);
  if (own.state === 'open-confirm') {
    // Both connections carry the peer's OPEN. Two of the peer's own: the one further on stays.
    if (own.direction !== 'outbound' || survivor === 'outbound') return { action: 'reject' };
    return { action: 'adopt', dropOurs: 'collision' };
  }
  if (own.direction === 'outbound') {
    // Our attempt (connecting or in OpenSent) against the peer's, whose identifier we now know.
    if (survivor === 'outbound') return { action: 'defer' };
    return { action: 'adopt', dropOurs: own.connected ? 'collision' : 'none' };
  }
  // Ours is one of the peer's connections that never sent an OPEN (or there is none): no collision.
  return { action: 'adopt', dropOurs: own.direction === 'inbound' && own.connected ? 'stalled' : 'none' };
}
