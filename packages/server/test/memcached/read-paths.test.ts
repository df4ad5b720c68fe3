import { afterEach, describe, expect, test } from 'vitest';
import { RawClient, startListener } from './helpers.js';
import type { Started } from './helpers.js';

const started: Started[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of started.splice(0)) await s.listener.close();
});

async function connect(s: Started): Promise<RawClient> {
  const client = new RawClient(s.port);
  clients.push(client);
  await client.ready();
  return client;
}

// The listener reads through one shared buffer by default and through 'data' events when asked
// (or when Node does not allow the shared buffer): both must behave the same over real TCP.
describe.each([
  { name: 'shared read buffer', sharedReadBuffer: true },
  { name: "'data' events", sharedReadBuffer: false },
])('reads via $name', ({ sharedReadBuffer }) => {
  test('many connections interleaving partial lines and data blocks keep their own bytes', async () => {
    const s = await startListener({ sharedReadBuffer });
    started.push(s);
    const conns = await Promise.all(Array.from({ length: 8 }, () => connect(s)));
    // Each connection's value is distinct binary data, sent a few bytes at a time while the
    // other connections are mid-command, so a reused buffer would leak bytes across them.
    const values = conns.map((_, i) =>
      Buffer.from(Array.from({ length: 300 }, (_, j) => (i * 31 + j) % 256)),
    );
    const inputs = values.map((v, i) =>
      Buffer.concat([Buffer.from(`set key${i} ${i} 0 ${v.length}\r\n`), v, Buffer.from('\r\n')]),
    );
    for (let at = 0; at < inputs[0]!.length; at += 7) {
      conns.forEach((c, i) => c.send(inputs[i]!.subarray(at, at + 7)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const [i, c] of conns.entries()) {
      expect(await c.request('')).toBe('STORED\r\n');
      const got = await c.request(`get key${i}\r\n`);
      expect(got).toBe(`VALUE key${i} ${i} 300\r\n${values[i]!.toString('latin1')}\r\nEND\r\n`);
    }
    expect(s.listener.stats.curr_connections).toBe(8);
  });

  test('a value larger than the read buffer arrives whole', async () => {
    const s = await startListener({ sharedReadBuffer, maxValueBytes: 1024 * 1024 });
    started.push(s);
    const client = await connect(s);
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251;
    client.send(
      Buffer.concat([Buffer.from(`set big 0 0 ${big.length}\r\n`), big, Buffer.from('\r\n')]),
    );
    expect(await client.request('')).toBe('STORED\r\n');
    const stored = s.cache.get('big');
    expect(stored === undefined ? undefined : Buffer.from(stored.bytes).equals(big)).toBe(true);
  });
});
