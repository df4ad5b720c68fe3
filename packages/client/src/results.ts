import { NodeRequestError } from './errors/node-request-error.js';
import { OperationRejectedError } from './errors/operation-rejected-error.js';
import type { BatchResult } from './wire.js';

/** A result that is neither success nor the operation's expected "no" (404/412). */
export function rejection(node: string, key: string, result: BatchResult): Error {
  const [status, code, message] = result;
  if (typeof code === 'string') {
    return new OperationRejectedError(
      node,
      key,
      status,
      code,
      typeof message === 'string' ? message : '',
    );
  }
  // An incr another replica counted: this copy is missing, so the copies now differ.
  if (status === 404) return new NodeRequestError(node, `key "${key}" is not on this node`);
  return new NodeRequestError(node, `unexpected result ${JSON.stringify(result)} for key "${key}"`);
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A `[200, bytes, flags, version, ttl]` get result, checked. */
export interface Entry {
  bytes: Uint8Array;
  flags: number;
  version: number;
  /** Remaining ms; null when it never expires. */
  ttl: number | null;
}
