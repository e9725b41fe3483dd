// The next sequence number a connected TCP socket expects (the kernel's rcv_nxt), read through TCP
// repair mode (CAP_NET_ADMIN; the socket is left in normal mode again, without a window probe): what
// the XDP program's socket check compares a segment's sequence number with.
import type { Socket } from 'node:net';
import { native } from '../../src/native/addon.js';

const IPPROTO_TCP = 6;
const TCP_REPAIR = 19;
const TCP_REPAIR_QUEUE = 20;
const TCP_QUEUE_SEQ = 21;
const TCP_RECV_QUEUE = 1;
const TCP_REPAIR_ON = 1;
const TCP_REPAIR_OFF_NO_WP = -1;

export function receiveNext(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no fd');
  const n = native();
  n.sockSetInt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_ON);
  try {
    n.sockSetInt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
    return n.sockGetInt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ) >>> 0;
  } finally {
    n.sockSetInt(fd, IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP);
  }
}
