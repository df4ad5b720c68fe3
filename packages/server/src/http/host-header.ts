import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeState } from './app-env.js';
import { HttpError } from '../errors/http-error.js';
import { refusalOf } from '../operations/refusal.js';
import { writeErrorJson } from './responses.js';

/**
 * Whether a request carries more than one Host field. RFC 9112 §3.2 has a server answer such a
 * request 400: which host it is for is ambiguous (one proxy may act on the first, another on the
 * last), and Node's parser silently keeps the first. The lane hands such requests to Node's server
 * (it reads Host once), so this one check covers every HTTP door.
 */
export function hasSeveralHosts(rawHeaders: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** Answers 400 `bad_request`, counted and logged as any refusal, and closes the connection. */
export function refuseSeveralHosts(
  node: Pick<NodeState, 'metrics' | 'logger'>,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const error = new HttpError(400, 'bad_request', 'a request must carry exactly one Host header');
  const refused = refusalOf(node, error, {
    method: req.method ?? '',
    path: req.url ?? '',
    requestId: req.headers['x-request-id'],
  });
  // Its body, if any, is not read: the connection cannot carry another request after it.
  writeErrorJson(res, refused.status, refused.code, refused.message, true);
}
