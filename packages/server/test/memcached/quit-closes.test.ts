import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { once } from 'node:events';
import { expect, test } from 'vitest';
import { EVENTUALLY } from '../eventually.js';
import { statsOf } from './helpers.js';
import type { RawClient } from './helpers.js';
import { memcachedAndNode } from './memcached-and-node.js';

/**
 * `quit` closes the connection, as memcached does (conn_closing: close(2) once its replies are
 * written), also when the client keeps its side open. A half-closed connection would hold its slot
 * of `--memcached-max-connections` and a descriptor until the client closed it, so a client that
 * quits without closing its sockets would use the port up.
 */
const sides = memcachedAndNode();

async function openConnections(client: RawClient): Promise<bigint> {
  return (await statsOf(client)).get('curr_connections') ?? -1n;
}

/** Connects, sends `version` and `quit`, and resolves with what arrived before the stream ended. */
async function quitKeepingOpen(port: number): Promise<{ socket: Socket; received: string }> {
  // allowHalfOpen: the end of the server's stream does not end this side.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  const ended = once(socket, 'end');
  socket.write('version\r\nquit\r\n');
  await ended;
  return { socket, received };
}

test.each(['memcached', 'node'] as const)(
  '%s: a client that quits but keeps its socket open is disconnected',
  async (side) => {
    const stats = sides[side];
    const before = await openConnections(stats);
    const quitters = await Promise.all(
      Array.from({ length: 3 }, () => quitKeepingOpen(stats.socket.remotePort!)),
    );
    try {
      for (const q of quitters) expect(q.received).toMatch(/^VERSION \S+\r\n$/);
      await expect.poll(() => openConnections(stats), EVENTUALLY).toBe(before);
    } finally {
      for (const q of quitters) q.socket.destroy();
    }
  },
);
