import { STATUS_CODES } from 'node:http';

let dateText = '';
let dateUntil = 0;

/** The Date header's value, made at most once a second, as Node's own server caches it. */
function httpDate(): string {
  const now = Date.now();
  if (now >= dateUntil) {
    dateText = new Date(now).toUTCString();
    dateUntil = now - (now % 1000) + 1000;
  }
  return dateText;
}

/** The Connection header of an answer after which the connection ends. */
export const CLOSE = 'Connection: close\r\n';

/** The Connection and Keep-Alive headers of an answer after which the connection stays open. */
export function keepAlive(timeoutMs: number): string {
  return `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(timeoutMs / 1000)}\r\n`;
}

/**
 * An answer's status line and headers, as Node's server writes them for the same answer: the
 * route's own headers (lower case, as the routes set them), then Date, Connection and Keep-Alive.
 * `fields` are the route's own header lines and `connection` {@link CLOSE} or {@link keepAlive}'s,
 * each line ending in CRLF.
 */
export function responseHead(
  status: number,
  fields: string,
  contentLength: number,
  connection: string,
): string {
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${fields}` +
    `content-length: ${contentLength}\r\nDate: ${httpDate()}\r\n${connection}\r\n`
  );
}
