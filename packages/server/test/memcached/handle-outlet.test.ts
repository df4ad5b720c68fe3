import { createServer, connect, Socket } from 'node:net';
import type { AddressInfo, Server } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { handleOutlet } from '../../src/memcached/handle-outlet.js';
import { waitFor } from '../hostile/memcached-sockets.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const srv of servers.splice(0)) await new Promise((resolve) => srv.close(resolve));
});

/** A connected pair over loopback: the server's accepted socket and the client. */
async function pair(): Promise<{ server: Socket; client: Socket }> {
  let accepted!: (s: Socket) => void;
  const got = new Promise<Socket>((resolve) => (accepted = resolve));
  const srv = createServer((s) => {
    sockets.push(s);
    accepted(s);
  });
  servers.push(srv);
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const client = connect((srv.address() as AddressInfo).port, '127.0.0.1');
  sockets.push(client);
  client.on('error', () => {});
  return { server: await got, client };
}

function collect(client: Socket): { bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  return { bytes: () => Buffer.concat(chunks) };
}

describe('handleOutlet', () => {
  test('on this Node, strings and buffers reach the peer in order, byte for byte', async () => {
    const { server, client } = await pair();
    const outlet = handleOutlet(server, () => {});
    expect(outlet).toBeDefined();
    const received = collect(client);
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    expect(outlet!.latin1(every.toString('latin1'))).toBe(true);
    expect(outlet!.buffers([Buffer.from('one,'), Buffer.from('two,')])).toBe(true);
    expect(outlet!.latin1('three')).toBe(true);
    const expected = Buffer.concat([every, Buffer.from('one,two,three')]);
    await waitFor(() => received.bytes().length === expected.length, 2000);
    expect(received.bytes().equals(expected)).toBe(true);
  });

  test('what the kernel cannot take stays queued and blocks the outlet until it has gone out', async () => {
    const { server, client } = await pair();
    let written = 0;
    const outlet = handleOutlet(server, () => written++)!;
    client.pause();
    const big = Buffer.alloc(32 * 1024 * 1024, 0x62);
    expect(outlet.buffers([Buffer.from('start:'), big])).toBe(false);
    expect(outlet.blocked).toBe(true);
    expect(outlet.queued).toBeGreaterThan(0);
    expect(written).toBe(0);
    // Written behind the queued bytes, never ahead of them.
    outlet.latin1(':end');
    const received = collect(client);
    client.resume();
    const total = 'start:'.length + big.length + ':end'.length;
    await waitFor(() => received.bytes().length === total, 10_000);
    await waitFor(() => written >= 1, 2000);
    expect(outlet.blocked).toBe(false);
    expect(outlet.queued).toBe(0);
    const bytes = received.bytes();
    expect(bytes.subarray(0, 6).toString()).toBe('start:');
    expect(bytes.subarray(-4).toString()).toBe(':end');
  });

  test('writing to a connection the peer reset destroys the socket instead of throwing', async () => {
    const { server, client } = await pair();
    server.on('error', () => {});
    const outlet = handleOutlet(server, () => {})!;
    const closed = new Promise((resolve) => server.once('close', resolve));
    client.resetAndDestroy();
    await waitFor(() => {
      // Loopback reports the reset on the next write or two.
      outlet.latin1('x'.repeat(1024));
      return server.destroyed;
    }, 2000);
    await closed;
    // Nothing left to write to: a no-op, not an exception.
    expect(outlet.latin1('after')).toBe(true);
    expect(outlet.buffers([Buffer.from('after')])).toBe(true);
    expect(outlet.queued).toBe(0);
  });

  test('a socket without a native handle gets no outlet', () => {
    expect(handleOutlet(new Socket(), () => {})).toBeUndefined();
  });
});
