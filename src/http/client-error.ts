// The answer to a request Node's HTTP parser could not take (its server's 'clientError': malformed bytes,
// an oversized head, a request timeout), shared by every HTTP listener of the agent (the cluster endpoint,
// /metrics): a peer that reset or cannot be written to is dropped; anyone else gets 431 for a head over
// the size limit, 408 for a timeout, 400 for the rest (RFC 9110 §15.5), with `connection: close`, and the
// socket is closed once the answer is out. Never throws.

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

export const HTTP_BAD_REQUEST = 400;
export const HTTP_REQUEST_TIMEOUT = 408;
export const HTTP_HEADERS_TOO_LARGE = 431;

/** Node's error codes that name the answer (anything else is a 400). */
const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  HPE_HEADER_OVERFLOW: HTTP_HEADERS_TOO_LARGE,
  ERR_HTTP_REQUEST_TIMEOUT: HTTP_REQUEST_TIMEOUT,
};
const PEER_RESET = 'ECONNRESET';

/**
 * Answers and closes; returns the status written, or null when the socket was only dropped (the peer
 * reset it, or it is no longer writable). `body` gives a plain-text body for the status (default: none).
 */
export function answerClientError(
  socket: Socket,
  code: string | undefined,
  body: (status: number) => string = () => '',
): number | null {
  if (code === PEER_RESET || !socket.writable) {
    socket.destroy();
    return null;
  }
  const status = STATUS_OF_CODE[code ?? ''] ?? HTTP_BAD_REQUEST;
  const text = body(status);
  const type = text === '' ? '' : 'content-type: text/plain; charset=utf-8\r\n';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${type}content-length: ${Buffer.byteLength(text)}\r\n` +
      `connection: close\r\n\r\n${text}`,
    () => socket.destroy(),
  );
  return status;
}
