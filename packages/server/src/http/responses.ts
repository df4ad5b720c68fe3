import type { ServerResponse } from 'node:http';
import { errorJson } from '../operations/refusal.js';

/** Every error on the wire has this one shape. */
export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers?: Readonly<Record<string, string>>,
): Response {
  const body = errorJson(code, message);
  // Set here, not left to the adapter: a HEAD's answer gets GET's header fields without the body
  // (RFC 9110 §9.3.2), and the adapter counts only a body it sends.
  return new Response(body, {
    status,
    headers: {
      'content-type': 'application/json',
      'content-length': `${Buffer.byteLength(body)}`,
      ...headers,
    },
  });
}

/**
 * The same error written straight on Node's response, for the doors in front of hono (a request
 * refused before any route sees it); `close` ends the connection after it.
 */
export function writeErrorJson(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  close = false,
): void {
  const body = errorJson(code, message);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (close) headers.connection = 'close';
  res.writeHead(status, headers);
  res.end(body);
}

/** The body of a cache miss's 404; the GET fast path sends the same text. */
export const KEY_NOT_FOUND = JSON.stringify({
  error: { code: 'not_found', message: 'no such key' },
} satisfies ErrorBody);
const KEY_NOT_FOUND_LENGTH = `${Buffer.byteLength(KEY_NOT_FOUND)}`;

/** The 404 of a cache miss, built from a constant string: misses are a hot path too. */
export function keyNotFound(): Response {
  return new Response(KEY_NOT_FOUND, {
    status: 404,
    // As errorResponse's: a HEAD of a missing key gets its GET's Content-Length.
    headers: { 'content-type': 'application/json', 'content-length': KEY_NOT_FOUND_LENGTH },
  });
}

export function json(body: string, status = 200): Response {
  return new Response(body, { status, headers: { 'content-type': 'application/json' } });
}
