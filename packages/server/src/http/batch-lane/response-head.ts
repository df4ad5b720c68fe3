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

/** How an answer leaves its connection: open for the next request for `timeout` s, or closed. */
export type Persistence = { keepAliveSeconds: number } | 'close';

/**
 * An answer's status line and headers, as Node's server writes them for the same answer: the
 * route's own headers (lower case, as the routes set them), then Date, Connection and Keep-Alive.
 * `fields` are the route's own header lines, each ending in CRLF.
 */
export function responseHead(
  status: number,
  fields: string,
  contentLength: number,
  persistence: Persistence,
): string {
  const connection =
    persistence === 'close'
      ? 'Connection: close\r\n'
      : `Connection: keep-alive\r\nKeep-Alive: timeout=${persistence.keepAliveSeconds}\r\n`;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n${fields}` +
    `content-length: ${contentLength}\r\nDate: ${httpDate()}\r\n${connection}\r\n`
  );
}
