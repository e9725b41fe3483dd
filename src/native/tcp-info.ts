// struct tcp_info (linux/tcp.h) as sock_diag returns it in INET_DIAG_INFO: the few fields the health
// layer reads to tell a connection the service is not serving (data received, nothing sent since) and
// one being retransmitted. Older kernels send a shorter struct: a field past its end reads as absent.

/** The fields of struct tcp_info that are read, by byte offset. */
const OFF = {
  retransmits: 2,
  lastDataSent: 44,
  lastDataRecv: 52,
  totalRetrans: 100,
  bytesAcked: 120,
  bytesReceived: 128,
  dataSegsIn: 152,
  dataSegsOut: 156,
} as const;
const U32 = 4;
const U64 = 8;

export interface TcpInfo {
  /** Retransmissions of the segment at the head of the queue now (the RTO backoff count). */
  retransmits: number;
  totalRetrans: number;
  /** ms since data was last sent (for a connection that never sent any: since it was created). */
  lastDataSentMs: number;
  /** ms since data was last received (never received: since it was created). */
  lastDataRecvMs: number;
  bytesAcked: number | null;
  bytesReceived: number | null;
  /** Segments with data in and out (kernel 4.6+; null before). */
  dataSegsIn: number | null;
  dataSegsOut: number | null;
}

const u32At = (b: Buffer, off: number): number | null => (b.length >= off + U32 ? b.readUInt32LE(off) : null);
const u64At = (b: Buffer, off: number): number | null =>
  b.length >= off + U64 ? Number(b.readBigUInt64LE(off)) : null;

/** Decodes an INET_DIAG_INFO payload; null when it is too short to hold the basic fields. */
export function decodeTcpInfo(b: Buffer): TcpInfo | null {
  if (b.length < OFF.totalRetrans + U32) return null;
  return {
    retransmits: b.readUInt8(OFF.retransmits),
    totalRetrans: b.readUInt32LE(OFF.totalRetrans),
    lastDataSentMs: b.readUInt32LE(OFF.lastDataSent),
    lastDataRecvMs: b.readUInt32LE(OFF.lastDataRecv),
    bytesAcked: u64At(b, OFF.bytesAcked),
    bytesReceived: u64At(b, OFF.bytesReceived),
    dataSegsIn: u32At(b, OFF.dataSegsIn),
    dataSegsOut: u32At(b, OFF.dataSegsOut),
  };
}
