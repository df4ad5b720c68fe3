import type { Socket } from 'node:net';

const waiting = new WeakMap<Socket, Set<() => void>>();

/**
 * Calls `then` when `connection` closes (soon, if it has), unless the returned cancel is called
 * first. One 'close' listener per connection, however many callers wait on it: a response queued
 * behind another one on its connection (pipelining) has no socket of its own and never closes if
 * the connection goes first, so everything held for it must be let go here — and a listener per
 * pipelined response would make Node warn of a leak at eleven.
 */
export function whenConnectionCloses(connection: Socket, then: () => void): () => void {
  if (connection.destroyed) {
    // Still after the caller's own setup (it may cancel in the meantime), as 'close' would be.
    let cancelled = false;
    queueMicrotask(() => {
      if (!cancelled) then();
    });
    return () => void (cancelled = true);
  }
  let callbacks = waiting.get(connection);
  if (callbacks === undefined) {
    const set = new Set<() => void>();
    connection.once('close', () => {
      waiting.delete(connection);
      for (const callback of set) callback();
    });
    waiting.set(connection, set);
    callbacks = set;
  }
  callbacks.add(then);
  return () => void callbacks.delete(then);
}
