import { createServer, connect, Socket } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { adoptWithSharedReadBuffer } from '../../src/sockets/shared-buffer-reads.js';

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

  test('keepServerCount: net.Server counts the adopted socket (getConnections, maxConnections) until it closes', async () => {
    const adopted: Socket[] = [];
    const srv = createServer({ pauseOnConnect: true }, (accepted) => {
      const socket = adoptWithSharedReadBuffer(accepted, Buffer.alloc(64), () => {}, {
        keepServerCount: true,
      });
      if (socket !== undefined) adopted.push(socket);
    });
    srv.maxConnections = 1;
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const port = (srv.address() as AddressInfo).port;
    const connections = () =>
      new Promise<number>((resolve, reject) =>
        srv.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
    const first = connect(port, '127.0.0.1');
    sockets.push(first);
    await vi.waitFor(() => expect(adopted).toHaveLength(1));
    expect(await connections()).toBe(1);
    // Past maxConnections: net.Server closes the second connection without a 'connection' event.
    const second = connect(port, '127.0.0.1');
    sockets.push(second);
    await new Promise((resolve) => second.once('close', resolve));
    expect(adopted).toHaveLength(1);
    adopted[0]!.destroy();
    await vi.waitFor(async () => expect(await connections()).toBe(0));
    // Room again: a new connection is taken.
    sockets.push(connect(port, '127.0.0.1'));
    await vi.waitFor(() => expect(adopted).toHaveLength(2));
    expect(await connections()).toBe(1);
  });

  test("the adopted socket is made as the server made the accepted one: half-open (http.Server's), its high-water marks", async () => {
    const made: { allowHalfOpen: boolean; readable: number; writable: number }[] = [];
    const srv = createServer(
      { pauseOnConnect: true, allowHalfOpen: true, highWaterMark: 4096 },
      (accepted) => {
        const socket = adoptWithSharedReadBuffer(accepted, Buffer.alloc(64), () => {});
        if (socket === undefined) return;
        made.push({
          allowHalfOpen: socket.allowHalfOpen,
          readable: socket.readableHighWaterMark,
          writable: socket.writableHighWaterMark,
        });
        socket.destroy();
      },
    );
    servers.push(srv);
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    sockets.push(connect((srv.address() as AddressInfo).port, '127.0.0.1'));
    await vi.waitFor(() => expect(made).toHaveLength(1));
    expect(made[0]).toEqual({ allowHalfOpen: true, readable: 4096, writable: 4096 });
  });

  test('a socket without a native handle is left alone (undefined)', () => {
    const unconnected = new Socket();
    expect(adoptWithSharedReadBuffer(unconnected, Buffer.alloc(16), () => {})).toBeUndefined();
    expect(unconnected.destroyed).toBe(false);
  });
});
