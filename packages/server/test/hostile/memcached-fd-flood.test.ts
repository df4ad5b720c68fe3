import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import {
  ask,
  destroySockets,
  MiB,
  openSocket,
  readUntilClose,
  rssBytes,
} from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

const FD_LIMIT = 256;
/** defaultMaxConnections(256): (256 - 64) / 2. */
const DEFAULT_CONNECTIONS = 96;
const FLOOD = 200;

describe('an fd flood on the memcached port (hostile)', () => {
  test(`under an open-file limit of ${FD_LIMIT}, the default connection limit fits it: the excess is refused, HTTP and memcached keep serving`, async () => {
    const node = await startCliNode(['--memcached-port', '0', '--log-level', 'warn'], {
      openFileLimit: FD_LIMIT,
    });
    const port = node.memcached!.port;
    const first = await openSocket(port);
    expect(await ask(first, 'stats settings\r\n', 'END\r\n')).toContain(
      `STAT maxconns ${DEFAULT_CONNECTIONS}\r\n`,
    );

    const flood: Socket[] = [];
    const refusals: Promise<string>[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const socket = await openSocket(port);
      flood.push(socket);
      refusals.push(readUntilClose(socket, 3000));
    }
    const replies = await Promise.all(refusals);
    const refused = replies.filter((r) => r === 'ERROR Too many open connections\r\n');
    const open = replies.filter((r) => r === '<still open>');
    // Everyone beyond the limit was told why and hung up on; the rest are being served.
    expect(refused.length).toBe(FLOOD - (DEFAULT_CONNECTIONS - 1));
    expect(open.length).toBe(DEFAULT_CONNECTIONS - 1);
    expect(refused.length + open.length).toBe(FLOOD);

    // The HTTP API still has descriptors to serve with.
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    // A held connection is served; once some close, a new client is too.
    expect(await ask(first, 'version\r\n', '\r\n')).toMatch(/^VERSION /);
    for (const socket of flood.splice(0, 10)) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const late = await openSocket(port);
    expect(await ask(late, 'set k 0 0 1\r\nv\r\nget k\r\n', 'END\r\n')).toBe(
      'STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n',
    );
    expect(node.child.exitCode).toBeNull();
    expect(rssBytes(node.child.pid!)).toBeLessThan(200 * MiB);
  }, 20_000);
});
