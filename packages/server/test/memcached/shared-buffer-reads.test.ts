import { createServer, connect, Socket } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { adoptWithSharedReadBuffer } from '../../src/memcached/shared-buffer-reads.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const srv of servers.splice(0)) await new Promise((resolve) => srv.close(resolve));
});

describe('adoptWithSharedReadBuffer', () => {
  test('on this Node the adopted socket reads into the given buffer, writes and closes', async () => {
    const buffer = Buffer.alloc(1024);
    const seen: string[] = [];
    const adopted: Socket[] = [];
    const srv = createServer({ pauseOnConnect: true }, (accepted) => {
      const socket = adoptWithSharedReadBuffer(accepted, buffer, (chunk) => {
        // The chunk is a view of the shared buffer, not a copy.
        expect(chunk.buffer).toBe(buffer.buffer);
        seen.push(chunk.toString());
        socket?.write(`echo:${chunk.toString()}`);
      });
      expect(socket).toBeInstanceOf(Socket);
      if (socket !== undefined) adopted.push(socket);
    });
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const client = connect((srv.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(client);
    const reply = await new Promise<string>((resolve) => {
      client.once('data', (d: Buffer) => resolve(d.toString()));
      client.write('hello');
    });
    expect(reply).toBe('echo:hello');
    expect(seen).toEqual(['hello']);
    // The adopted socket owns the handle: closing it closes the connection for the peer.
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    adopted[0]!.destroy();
    await clientClosed;
    // net.Server no longer counts the old wrapper, so close() completes.
    await new Promise((resolve) => srv.close(resolve));
    servers.length = 0;
  });

  test('a socket without a native handle is left alone (undefined)', () => {
    const unconnected = new Socket();
    expect(adoptWithSharedReadBuffer(unconnected, Buffer.alloc(16), () => {})).toBeUndefined();
    expect(unconnected.destroyed).toBe(false);
  });
});
