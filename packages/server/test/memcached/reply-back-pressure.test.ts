import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { LruCache } from '@dcache/core';
import { createMemcachedListener } from '../../src/memcached/index.js';
import type { MemcachedListener, MemcachedListenerOptions } from '../../src/memcached/index.js';
import type { StoredValue } from '../../src/operations/stored-value.js';
import { ask, destroySockets, MiB, openSocket, waitFor } from '../hostile/memcached-sockets.js';

const listeners: MemcachedListener[] = [];
afterEach(async () => {
  destroySockets();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

const BIG = Buffer.alloc(MiB, 0x61);
const SMALL = Buffer.from('small');
/**
 * More than a loopback connection's kernel buffers take from a client that does not read (the
 * sender's buffer grows to tcp_wmem's maximum, 4 MiB by default, plus the receiver's window), so
 * part of it always stays queued at the socket, counted node-wide. Of 1 MiB values what stays
 * there is what the kernel's buffers leave of the last one written, anything from nothing to
 * 1 MiB (the next reply waits in its connection, which the node-wide count does not include).
 */
const HUGE = Buffer.alloc(32 * MiB, 0x62);

async function startWith(options: Partial<MemcachedListenerOptions>) {
  const cache = new LruCache<StoredValue>({ maxMemory: 64 * MiB });
  cache.set('big', { bytes: BIG, flags: 7 });
  cache.set('small', { bytes: SMALL, flags: 0 });
  cache.set('huge', { bytes: HUGE, flags: 0 });
  const listener = createMemcachedListener({ cache, ...options });
  listeners.push(listener);
  const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
  return { listener, port };
}

function valueBlock(key: string, flags: number, bytes: Buffer): string {
  return `VALUE ${key} ${flags} ${bytes.length}\r\n${bytes.toString('latin1')}\r\n`;
}

// Sockets read through the shared buffer are written straight to their handle (handle-outlet.ts);
// the others through the socket's Writable stream: both must pace a client the same way.
describe.each([
  { path: 'the native handle', sharedReadBuffer: true },
  { path: "the socket's stream", sharedReadBuffer: false },
])('reply back-pressure within a multi-key get, writing to $path', ({ sharedReadBuffer }) => {
  const start = (options: Partial<MemcachedListenerOptions> = {}) =>
    startWith({ sharedReadBuffer, ...options });

  test('a get stopped between every two values still answers exactly, then runs the next command', async () => {
    // A budget of one byte: every connection must wait for its client after each value.
    const { port } = await start({ maxUnsentBytes: 1 });
    const client = await openSocket(port);
    const reply = await ask(
      client,
      'get big small nothing big small\r\nversion\r\n',
      'VERSION 1.6.18\r\n',
    );
    expect(reply).toBe(
      valueBlock('big', 7, BIG) +
        valueBlock('small', 0, SMALL) +
        valueBlock('big', 7, BIG) +
        valueBlock('small', 0, SMALL) +
        'END\r\nVERSION 1.6.18\r\n',
    );
  });

  test('gat keeps its exptime across the stops; a too-long key still turns the reply into one error', async () => {
    const { port } = await start({ maxUnsentBytes: 1 });
    const client = await openSocket(port);
    expect(await ask(client, 'gat 100 small small\r\n', 'END\r\n')).toBe(
      valueBlock('small', 0, SMALL).repeat(2) + 'END\r\n',
    );
    const long = 'k'.repeat(251);
    expect(await ask(client, `get small small ${long}\r\n`, '\r\n')).toBe(
      'CLIENT_ERROR bad command line format\r\n',
    );
  });

  test('a client that stops reading holds a bounded reply; once it reads, it gets all of it', async () => {
    const { listener, port } = await start();
    const client = await openSocket(port);
    client.pause();
    const copies = 300;
    let received = 0;
    const done = new Promise<string>((resolve) => {
      let tail = '';
      client.on('data', (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString('latin1')).slice(-64);
        if (tail.endsWith('END\r\nVERSION 1.6.18\r\n')) resolve(tail);
      });
    });
    client.write(`get${' big'.repeat(copies)}\r\nversion\r\n`);
    client.pause();
    await waitFor(() => listener.unsentBytes > 0, 2000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // One value past the connection's 256 KiB: not 300 MiB of replies.
    expect(listener.unsentBytes).toBeLessThanOrEqual(256 * 1024 + MiB + 64);
    client.resume();
    await done;
    const oneValue = `VALUE big 7 ${MiB}\r\n`.length + MiB + 2;
    expect(received).toBe(copies * oneValue + 'END\r\n'.length + 'VERSION 1.6.18\r\n'.length);
    expect(listener.unsentBytes).toBe(0);
  });

  test('a client that pipelines past 2 KiB and is slow to read is not cut by inputTimeoutMs while the node waits for it', async () => {
    const { port } = await start({ inputTimeoutMs: 200 });
    const client = await openSocket(port);
    client.pause();
    let closed = false;
    client.on('close', () => (closed = true));
    let received = 0;
    // Settles on the last reply, or on a hang-up (then the expectations below fail).
    const done = new Promise<void>((resolve) => {
      let tail = '';
      client.once('close', () => resolve());
      client.on('data', (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString('latin1')).slice(-64);
        if (tail.endsWith('END\r\nVERSION 1.6.18\r\n')) resolve();
      });
    });
    // 20 MiB of replies to a ~5 KB pipeline: the first one stops the node reading, and the rest of
    // the pipeline (past 2 KiB) waits in the node for the client to take its replies.
    const lines = 20;
    const misses = Array.from({ length: 60 }, (_, i) => `miss${i}`).join(' ');
    client.write(`get big ${misses}\r\n`.repeat(lines) + 'version\r\n');
    // Five timeouts without reading: the node is the one not reading, the client sent everything.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(closed).toBe(false);
    client.resume();
    await done;
    const oneValue = valueBlock('big', 7, BIG).length + 'END\r\n'.length;
    expect(received).toBe(lines * oneValue + 'VERSION 1.6.18\r\n'.length);
    expect(closed).toBe(false);
  });

  test('over the node-wide budget, a client that reads is still served while one that does not waits', async () => {
    const { listener, port } = await start({ maxUnsentBytes: 64 * 1024 });
    const hog: Socket = await openSocket(port);
    hog.pause();
    hog.write(`get${' huge'.repeat(2)}\r\n`);
    await waitFor(() => listener.unsentBytes > 64 * 1024, 2000);
    expect(listener.unsentBytes).toBeGreaterThan(64 * 1024);
    const reader = await openSocket(port);
    const many = 'get small\r\n'.repeat(2000);
    const reply = await ask(reader, `${many}get big\r\n`, `${BIG.toString('latin1')}\r\nEND\r\n`);
    expect(reply.length).toBe(
      2000 * (valueBlock('small', 0, SMALL).length + 5) + valueBlock('big', 7, BIG).length + 5,
    );
  });
});
