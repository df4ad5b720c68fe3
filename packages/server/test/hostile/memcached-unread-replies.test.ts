import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { ask, destroySockets, MiB, openSocket, rssBytes, waitFor } from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

const CONNECTIONS = 200;
/** An 80 KB line; without back-pressure within a line, ~1.8 MiB of reply objects per connection. */
const KEYS_PER_GET = 20_000;
const MAX_MEMORY = 16 * MiB;
const MAX_UNSENT = 8 * MiB;
/** The README's fixed overhead: the node at rest, its heap growth and per-connection state. */
const OVERHEAD = 150 * MiB;

describe('a never-reading multi-get client (hostile, memcached port)', () => {
  test(`${CONNECTIONS} connections each asking for ${KEYS_PER_GET} copies of a 1 MiB value hold bounded memory, and a normal client is served`, async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--max-memory',
      '16mb',
      '--memcached-max-unsent-bytes',
      '8mb',
      '--log-level',
      'warn',
    ]);
    const port = node.memcached!.port;
    const pid = node.child.pid!;
    const normal = await openSocket(port);
    const value = Buffer.alloc(MiB, 0x61);
    expect(
      await ask(
        normal,
        Buffer.concat([Buffer.from(`set big 0 0 ${MiB}\r\n`), value, Buffer.from('\r\n')]),
        '\r\n',
      ),
    ).toBe('STORED\r\n');
    const atRest = rssBytes(pid);

    const line = `get${' big'.repeat(KEYS_PER_GET)}\r\n`;
    const hostile: Socket[] = [];
    for (let i = 0; i < CONNECTIONS; i++) {
      const socket = await openSocket(port);
      socket.pause(); // never reads: the node's replies pile up
      socket.write(line);
      hostile.push(socket);
    }
    // Every connection has had its line read and answered as far as the node lets it.
    let peak = 0;
    await waitFor(() => {
      peak = Math.max(peak, rssBytes(pid));
      return false;
    }, 3000);

    const bound = MAX_MEMORY + MAX_UNSENT + OVERHEAD;
    expect(peak).toBeLessThan(bound);
    // The node still answers a client that reads, value and all.
    const reply = await ask(normal, 'get big\r\n', '\r\nEND\r\n');
    expect(reply).toBe(`VALUE big 0 ${MiB}\r\n${value.toString('latin1')}\r\nEND\r\n`);
    console.log(
      `RSS at rest ${(atRest / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB with ${CONNECTIONS} never-reading connections (bound ${(bound / MiB).toFixed(0)} MiB)`,
    );
  }, 20_000);
});
