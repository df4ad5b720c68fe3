import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

afterEach(() => stopCliNodes());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `stats` on the memcached port, as name → value. */
async function memcachedStats(address: {
  host: string;
  port: number;
}): Promise<Map<string, string>> {
  const socket = connect(address.port, address.host);
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.write('stats\r\n');
  while (!text.endsWith('END\r\n')) await sleep(10);
  socket.destroy();
  return new Map(
    text
      .split('\r\n')
      .filter((line) => line.startsWith('STAT '))
      .map((line) => line.split(' ').slice(1) as [string, string]),
  );
}

/** One unlabelled sample of /metrics. */
function sampleOf(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

describe('tombstones in the core counters (tombstones are neither items nor hits)', () => {
  it('a tombstone past its grace is no expiration, and a flushed tombstone no delete', async () => {
    const node = await startCliNode([
      '--tombstone-grace',
      '200',
      '--max-hint-age',
      '100',
      '--memcached-port',
      '0',
    ]);
    const put = (key: string) =>
      fetch(`${node.url}/v1/keys/${key}`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: 'v',
      });
    // No value ever expires here: one delete whose tombstone's grace runs out…
    expect((await put('a')).status).toBeLessThan(300);
    expect((await fetch(`${node.url}/v1/keys/a`, { method: 'DELETE' })).status).toBe(204);
    await sleep(400);
    expect((await fetch(`${node.url}/v1/keys/a`)).status).toBe(404);
    // …and one delete whose tombstone a flush removes: two deletes in all.
    expect((await put('b')).status).toBeLessThan(300);
    expect((await fetch(`${node.url}/v1/keys/b`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${node.url}/v1/flush`, { method: 'POST' })).status).toBe(204);

    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const memcached = await memcachedStats(node.memcached!);
    expect({
      expirations: stats.expirations,
      deletes: stats.deletes,
      dcache_expirations_total: sampleOf(metrics, 'dcache_expirations_total'),
      dcache_deletes_total: sampleOf(metrics, 'dcache_deletes_total'),
      get_expired: memcached.get('get_expired'),
    }).toEqual({
      expirations: 0,
      deletes: 2,
      dcache_expirations_total: 0,
      dcache_deletes_total: 2,
      get_expired: '0',
    });
  });
});

describe('tombstones in the eviction counter', () => {
  it('a tombstone evicted for room is no eviction of a value (it counts in tombstonesEvictedEarly)', async () => {
    const node = await startCliNode(['--max-memory', '4kb', '--memcached-port', '0']);
    const put = (key: string) =>
      fetch(`${node.url}/v1/keys/${key}`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain' },
        body: 'v'.repeat(200),
      });
    expect((await put('a')).status).toBeLessThan(300);
    expect((await fetch(`${node.url}/v1/keys/a`, { method: 'DELETE' })).status).toBe(204);
    // 40 values of 200 bytes do not fit in 4 KiB: the oldest go, the tombstone of `a` first.
    const written = 40;
    for (let i = 0; i < written; i++) expect((await put(`k${i}`)).status).toBeLessThan(300);

    const stats = (await (await fetch(`${node.url}/v1/stats`)).json()) as Record<string, number>;
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const memcached = await memcachedStats(node.memcached!);
    // Every value written is held or was evicted: `a`'s was deleted, not evicted.
    const valuesEvicted = written - stats.items!;
    expect(stats.tombstonesEvictedEarly).toBe(1);
    expect({
      evictions: stats.evictions,
      dcache_evictions_total: sampleOf(metrics, 'dcache_evictions_total'),
      memcached: memcached.get('evictions'),
    }).toEqual({
      evictions: valuesEvicted,
      dcache_evictions_total: valuesEvicted,
      memcached: String(valuesEvicted),
    });
  });
});
