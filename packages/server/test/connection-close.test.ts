import { createServer, Socket } from 'node:net';
import type { Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { whenConnectionCloses } from '../src/sockets/connection-close.js';

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((socket) => socket.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function open(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    socket.once('error', reject);
    socket.connect(port, '127.0.0.1', () => resolve(socket));
  });
}

describe('whenConnectionCloses', () => {
  it('one close listener however many wait; each told once, a cancelled one not at all', async () => {
    const socket = await open();
    const told: number[] = [];
    const cancels = Array.from({ length: 20 }, (_, i) =>
      whenConnectionCloses(socket, () => told.push(i)),
    );
    expect(socket.listenerCount('close')).toBe(1);
    cancels[3]!();
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(told).toEqual(Array.from({ length: 20 }, (_, i) => i).filter((i) => i !== 3));
  });

  it('tells soon when the connection is already gone, unless cancelled first', async () => {
    const socket = await open();
    socket.destroy();
    let told = 0;
    whenConnectionCloses(socket, () => told++);
    const cancel = whenConnectionCloses(socket, () => told++);
    expect(told).toBe(0); // after the caller's own setup, as a 'close' event would be
    cancel();
    await Promise.resolve();
    expect(told).toBe(1);
  });
});
