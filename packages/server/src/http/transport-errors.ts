import type { Duplex } from 'node:stream';
import type { NodeState } from './app-env.js';
import type { ErrorBody } from './responses.js';
import { errorResponse } from './responses.js';

/**
 * Failures outside the hono app, answered in the one wire shape `{ error: { code, message } }`
 * (error-handler.ts handles everything inside it).
 */

/**
 * @hono/node-server's `errorHandler`: a request it cannot turn into a web `Request` (a backslash in
 * the path, an HTTP/1.0 request without Host, a bad Host) arrives here as its RequestError — a
 * 400 — instead of an empty-bodied 400. Anything else escaped the app's own handler: a 500.
 */
export function requestErrorHandler(node: NodeState): (error: unknown) => Response {
  return function onRequestError(error) {
    if (error instanceof Error && error.name === 'RequestError') {
      node.metrics.recordError(400);
      node.logger.debug('request_refused', `400 (unparsable request): ${error.message}`);
      return errorResponse(400, 'bad_request', error.message);
    }
    node.metrics.recordError(500);
    node.logger.error(
      'request_error',
      `request outside the app: ${error instanceof Error ? (error.stack ?? '') : String(error)}`,
    );
    return errorResponse(500, 'internal', 'internal error');
  };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};

/** Node's own choice of status for a parse failure (its default 'clientError' answer). */
function statusOf(code: unknown): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * What a 'clientError' socket carries beyond a Duplex: Node's own fields, typed only as far as read
 * here. `_httpMessage` is the response in flight on the socket; `parser.incoming` the request being
 * parsed (incomplete while its body is still arriving).
 */
interface HttpSocket extends Duplex {
  _httpMessage?: {
    _headerSent?: boolean;
    req?: unknown;
    once(event: 'finish', listener: () => void): unknown;
  } | null;
  parser?: { incoming?: { complete: boolean } | null } | null;
}

/**
 * Calls `then` once the socket has no answer under way or queued — or, with `request`, once the
 * answer under way is that request's: Node's server hands the socket to the next queued answer
 * when one finishes, before a 'finish' listener added here runs.
 */
function whenAnswered(socket: HttpSocket, then: () => void, request?: object): void {
  const message = socket._httpMessage;
  if (
    message === null ||
    message === undefined ||
    (request !== undefined && message.req === request)
  )
    then();
  else message.once('finish', () => whenAnswered(socket, then, request));
}

/**
 * The server's 'clientError' listener: Node could not parse the request (malformed request line or
 * header, headers too large, timeout). Answers the JSON error shape with `connection: close` when
 * the socket can still be written, then closes it. `counted` (the batch lane's timed-out body):
 * the request under way was counted by its own door, as the app counts one whose body it saw.
 */
export function clientErrorResponder(
  node: NodeState,
): (error: Error & { code?: string }, socket: Duplex, counted?: boolean) => void {
  /** Sockets whose refusal waits for the answers before it (Node reports each later read too). */
  const waiting = new WeakSet<HttpSocket>();
  return function onClientError(error, socket: HttpSocket, counted = false) {
    if (waiting.has(socket)) return;
    // Reset, or ended mid-request (HPE_INVALID_EOF_STATE): nobody is left to read an answer, and a
    // request already under way is counted by its own handler.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE') {
      socket.destroy();
      return;
    }
    // The HTTPS port's TLS layer failed (a handshake timeout, garbage instead of a ClientHello):
    // no HTTP can be spoken, and bytes written to a socket whose handshake never finishes wait
    // forever, keeping it open.
    if (
      error.code?.startsWith('ERR_TLS_') === true ||
      error.code?.startsWith('ERR_SSL_') === true
    ) {
      node.logger.debug('tls_client_error', `TLS client error: ${error.message}`);
      socket.destroy();
      return;
    }
    // Bytes after a request that asked `Connection: close`: llhttp stops there, but that request is
    // whole and its answer under way or queued (a batch or PUT answers once its body's end is
    // read), with `connection: close`, after which Node closes the socket; what follows is not
    // processed (RFC 9112 §9.6). A 400 written now would take the place of the answer to a request
    // that ran. With no answer under way, that one has gone out and the socket is closing.
    if (error.code === 'HPE_CLOSED_CONNECTION' && socket._httpMessage) return;
    const status = statusOf(error.code);
    // A request whose body was still arriving (a bad chunk size, a timeout mid-body) is the app's:
    // its body reader fails once the socket closes, and it counts the request. Its own answer
    // would then meet a closed socket, so the answer is written here — unless the app has
    // answered already (a 413 sent while the body drains); behind an earlier pipelined request's
    // answer, once that has gone.
    const incoming = socket.parser?.incoming;
    const appSawIt = incoming !== null && incoming !== undefined && !incoming.complete;
    if (!appSawIt && !counted) node.metrics.recordError(status);
    node.logger.debug('request_refused', `${status} (unparsable request): ${error.message}`);
    const message = socket._httpMessage;
    const refuse = (): void => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const body: ErrorBody = {
        error: { code: status === 431 ? 'too_large' : 'bad_request', message: error.message },
      };
      const text = JSON.stringify(body);
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
          'content-type: application/json\r\n' +
          `content-length: ${Buffer.byteLength(text)}\r\n` +
          'connection: close\r\n\r\n' +
          text,
        () => socket.destroy(),
      );
    };
    if (!appSawIt && message) {
      // The answer under way, or waiting its turn, is an earlier pipelined request's: a 400 written
      // now would be read as that request's answer (a PUT that was stored answered "Duplicate
      // Content-Length"), or land inside it. Node parses nothing past the bad bytes, so the 400
      // goes out once the answers before it have, as the batch lane sends it.
      waiting.add(socket);
      whenAnswered(socket, refuse);
      return;
    }
    // A request whose body was arriving: its own answer, unless the app has answered it.
    const refuseUnanswered = (): void => {
      if (appSawIt && socket._httpMessage?._headerSent === true) socket.destroy();
      else refuse();
    };
    if (appSawIt && message && message.req !== incoming) {
      // Behind an earlier pipelined request's answer, under way or queued: cut now, that request
      // (a PUT already stored) would get no answer at all. Its 400 waits its turn, as above.
      waiting.add(socket);
      whenAnswered(socket, refuseUnanswered, incoming);
      return;
    }
    if (appSawIt && !message) {
      socket.destroy();
      return;
    }
    refuseUnanswered();
  };
}
