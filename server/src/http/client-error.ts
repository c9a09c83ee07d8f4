import type { Duplex } from 'node:stream';
import { RequestError } from '@ncp-hub/protocol';
import { HTTP_STATUS_BY_CODE } from './http-errors.js';

/** What Node's HTTP parser found wrong, by its error code, for the answer's message. */
const PARSER_REFUSALS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'the request headers are too large',
  ERR_HTTP_REQUEST_TIMEOUT: 'the request did not arrive in time',
  ERR_HTTP_HEADERS_TIMEOUT: 'the request headers did not arrive in time',
};

/**
 * The HTTP server's `clientError` listener: a request Node's HTTP parser refuses before
 * express sees it (a malformed request line or header, headers over the size limit, a request
 * that did not arrive in time) is answered as every HTTP error of the hub is — `400` with
 * `{ "error": { "code": "BAD_REQUEST", "message" } }` (PROTOCOL §8) — instead of Node's bare
 * `400 Bad Request`, and the connection is closed. Nothing is written when the socket is not
 * writable (the peer reset it) or a response on it has begun (its bytes would corrupt it).
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const refusal = new RequestError(
      'BAD_REQUEST',
      PARSER_REFUSALS[error.code ?? ''] ?? 'the request is not valid HTTP/1.1',
    );
    const body = JSON.stringify({ error: refusal.toBody() });
    socket.end(
      [
        `HTTP/1.1 ${HTTP_STATUS_BY_CODE[refusal.code]} Bad Request`,
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
      () => socket.destroy(),
    );
    return;
  }
  socket.destroy();
}
