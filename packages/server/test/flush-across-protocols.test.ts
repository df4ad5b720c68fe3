import { COARSE_CLOCK_RESOLUTION_MS } from '@dcache/core';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CacheServer, createMemcachedListener } from '../src/index.js';
import { manualClock, startUpload } from './helpers.js';
import type { UploadOptions } from './helpers.js';
import { newCache, RawClient } from './memcached/helpers.js';
import { EVENTUALLY } from './eventually.js';

const DAY_MS = 24 * 3600 * 1000;

const servers: CacheServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const client of clients.splice(0)) client.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** A node serving HTTP and memcached over one cache, on a clock the test moves. */
async function start() {
  const clock = manualClock(1_700_000_000_000);
  const server = new CacheServer({
    memcachedPort: 0,
    logLevel: 'silent',
    now: clock.now,
    stallThreshold: 0,
  });
  servers.push(server);
  const { url, memcached } = await server.listen({ host: '127.0.0.1', port: 0 });
  const mc = new RawClient(memcached!.port);
  clients.push(mc);
  await mc.ready();
  const clears = vi.spyOn(server.cache, 'clear');

  async function batch(ops: unknown[]): Promise<unknown[][]> {
    const res = await fetch(`${url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack' },
      body: pack(ops),
    });
    expect(res.status).toBe(200);
    return unpack(new Uint8Array(await res.arrayBuffer())) as unknown[][];
  }

  /** Writes `key` over HTTP (odd keys) or memcached. */
  async function write(key: string): Promise<void> {
    if (key.length % 2 === 1) {
      const res = await fetch(`${url}/v1/keys/${key}`, { method: 'PUT', body: 'v' });
      expect(res.status).toBe(204);
    } else {
      expect(await mc.request(`set ${key} 0 0 1\r\nv\r\n`)).toBe('STORED\r\n');
    }
  }

  /** The keys still stored, read over both protocols (which must agree). */
  async function present(keys: string[]): Promise<string[]> {
    const overHttp: string[] = [];
    for (const key of keys) {
      const res = await fetch(`${url}/v1/keys/${key}`);
      await res.arrayBuffer();
      if (res.status === 200) overHttp.push(key);
    }
    const reply = await mc.request(`get ${keys.join(' ')}\r\n`);
    const overMemcached = [...reply.matchAll(/^VALUE (\S+)/gm)].map((m) => m[1]);
    expect(overMemcached).toEqual(overHttp);
    return overHttp;
  }

  return { clock, server, url, mc, clears, batch, write, present };
}

type Node = Awaited<ReturnType<typeof start>>;

/** Ways to ask for a flush `delayMs` from now (0 = now) over each protocol and op. */
const flushes: Record<string, (node: Node, delayMs: number) => Promise<void>> = {
  'POST /v1/flush': async ({ url }, delayMs) => {
    const query = delayMs === 0 ? '' : `?delay=${delayMs}`;
    const res = await fetch(`${url}/v1/flush${query}`, { method: 'POST' });
    expect(res.status).toBe(204);
  },
  'batch flush': async ({ batch }, delayMs) => {
    expect(await batch([delayMs === 0 ? ['flush'] : ['flush', delayMs]])).toEqual([[204]]);
  },
  'memcached flush_all': async ({ mc }, delayMs) => {
    const command = delayMs === 0 ? 'flush_all' : `flush_all ${delayMs / 1000}`;
    expect(await mc.request(`${command}\r\n`)).toBe('OK\r\n');
  },
};

describe('one flush time per node, shared by HTTP, batch and memcached', () => {
  it('an HTTP flush cancels a memcached flush_all 60 pending since 10 s before', async () => {
    const node = await start();
    const { clock, clears, mc, url } = node;
    await node.write('old');
    expect(await mc.request('flush_all 60\r\n')).toBe('OK\r\n');
    clock.advance(10_000);
    expect((await fetch(`${url}/v1/flush`, { method: 'POST' })).status).toBe(204);
    expect(clears).toHaveBeenCalledTimes(1);
    await node.write('new');
    await node.write('mc');
    clock.advance(50_000); // the memcached flush's time: it no longer happens
    expect(await node.present(['old', 'new', 'mc'])).toEqual(['new', 'mc']);
    clock.advance(DAY_MS);
    expect(await node.present(['new', 'mc'])).toEqual(['new', 'mc']);
    expect(clears).toHaveBeenCalledTimes(1);
  });

  // Every immediate form of each protocol cancels a delayed flush pending from each other one.
  const immediate: Array<[string, (node: Node) => Promise<void>]> = [
    ...Object.entries(flushes).map(([name, run]): [string, (node: Node) => Promise<void>] => [
      name,
      (node) => run(node, 0),
    ]),
    [
      'POST /v1/flush?delay=0',
      async ({ url }) => {
        expect((await fetch(`${url}/v1/flush?delay=0`, { method: 'POST' })).status).toBe(204);
      },
    ],
    [
      'batch ["flush", 0]',
      async ({ batch }) => expect(await batch([['flush', 0]])).toEqual([[204]]),
    ],
    [
      'batch ["flush", null]',
      async ({ batch }) => {
        expect(await batch([['flush', null]])).toEqual([[204]]);
      },
    ],
    ['flush_all 0', async ({ mc }) => expect(await mc.request('flush_all 0\r\n')).toBe('OK\r\n')],
    ['flush_all -1', async ({ mc }) => expect(await mc.request('flush_all -1\r\n')).toBe('OK\r\n')],
    [
      'flush_all noreply',
      async ({ mc }) => expect(await mc.request('flush_all noreply\r\n')).toBe(''),
    ],
    [
      'flush_all 0 noreply',
      async ({ mc }) => {
        expect(await mc.request('flush_all 0 noreply\r\n')).toBe('');
      },
    ],
    [
      'flush_all <absolute time past>',
      async ({ mc, clock }) => {
        const past = Math.floor(clock.now() / 1000) - 5;
        expect(await mc.request(`flush_all ${past}\r\n`)).toBe('OK\r\n');
      },
    ],
  ];
  for (const [pendingName, schedule] of Object.entries(flushes)) {
    it.each(immediate)(`%s cancels a delayed flush pending from ${pendingName}`, async (_, now) => {
      const node = await start();
      await node.write('old');
      await schedule(node, 60_000);
      node.clock.advance(10_000);
      await now(node);
      expect(node.clears).toHaveBeenCalledTimes(1);
      expect(await node.present(['old'])).toEqual([]);
      await node.write('new');
      node.clock.advance(50_000);
      expect(await node.present(['new'])).toEqual(['new']);
      node.clock.advance(DAY_MS);
      expect(await node.present(['new'])).toEqual(['new']);
      expect(node.clears).toHaveBeenCalledTimes(1);
    });
  }

  // [first, its delay, second (10 s later), its delay]: the second's time is the only flush.
  const pairs: Array<[string, number, string, number]> = [
    ['memcached flush_all', 60_000, 'POST /v1/flush', 30_000],
    ['memcached flush_all', 30_000, 'POST /v1/flush', 60_000],
    ['POST /v1/flush', 60_000, 'memcached flush_all', 30_000],
    ['POST /v1/flush', 30_000, 'memcached flush_all', 60_000],
    ['memcached flush_all', 60_000, 'batch flush', 30_000],
    ['batch flush', 30_000, 'memcached flush_all', 90_000],
    ['POST /v1/flush', 60_000, 'batch flush', 20_000],
    ['memcached flush_all', 60_000, 'memcached flush_all', 20_000],
    ['memcached flush_all', 20_000, 'memcached flush_all', 60_000],
  ];
  it.each(pairs)(
    'a delayed flush (%s, %i ms) is replaced by a later request (%s, %i ms)',
    async (first, firstDelay, second, secondDelay) => {
      const node = await start();
      const { clock, clears } = node;
      const t0 = clock.now();
      await node.write('a');
      await flushes[first]!(node, firstDelay);
      clock.advance(10_000);
      await flushes[second]!(node, secondDelay);
      await node.write('bb');
      const due = t0 + 10_000 + secondDelay;
      const firstDue = t0 + firstDelay;
      if (firstDue < due) {
        clock.advance(firstDue - clock.now()); // the first one's time: nothing happens
        expect(await node.present(['a', 'bb'])).toEqual(['a', 'bb']);
      }
      clock.advance(due - 1 - clock.now());
      expect(await node.present(['a', 'bb'])).toEqual(['a', 'bb']);
      expect(clears).not.toHaveBeenCalled();
      clock.advance(1);
      expect(await node.present(['a', 'bb'])).toEqual([]);
      expect(clears).toHaveBeenCalledTimes(1);
      await node.write('ccc');
      clock.advance(Math.max(firstDue, due) + DAY_MS - clock.now());
      expect(await node.present(['ccc'])).toEqual(['ccc']);
      expect(clears).toHaveBeenCalledTimes(1);
    },
  );

  it('a batch schedules its flush at its place: later operations of the batch are flushed too', async () => {
    const node = await start();
    const bytes = new Uint8Array([1]);
    const results = await node.batch([
      ['set', 'a', bytes, 0, null, null],
      ['flush', 5_000],
      ['set', 'b', bytes, 0, null, null],
      ['get', 'a'],
    ]);
    expect(results.map((r) => r[0])).toEqual([204, 204, 204, 200]);
    expect(results[1]).toEqual([204]);
    node.clock.advance(5_000);
    expect(await node.present(['a', 'b'])).toEqual([]);
  });
});

describe('a body still arriving when the flush time comes (settled again before the cache is touched)', () => {
  /**
   * Writes `old`, asks for a flush 1 s ahead, starts a request at `path` whose body is split
   * after `split` bytes, and once the node has the request, moves the clock past the flush time
   * and sends the rest.
   */
  async function acrossTheFlushTime(
    node: Node,
    path: string,
    body: Uint8Array,
    split: number,
    options: UploadOptions,
  ): Promise<{ status: number; body: Buffer }> {
    await node.write('old');
    await flushes['POST /v1/flush']!(node, 1000);
    const upload = startUpload(`${node.url}${path}`, body.subarray(0, split), options);
    await vi.waitFor(() => expect(node.server.activeRequests).toBe(1), EVENTUALLY);
    node.clock.advance(2000);
    upload.req.end(body.subarray(split));
    return { status: await upload.status, body: await upload.body };
  }

  it('PUT: the value written after the flush time stays, the one written before is gone', async () => {
    const node = await start();
    const { status } = await acrossTheFlushTime(node, '/v1/keys/new', Buffer.from('ab'), 1, {
      headers: { 'content-type': 'text/plain', 'content-length': 2 },
    });
    expect(status).toBe(204);
    expect(await node.present(['old', 'new'])).toEqual(['new']);
    expect(node.clears).toHaveBeenCalledTimes(1);
  });

  it.each([
    // With a Content-Length the node's fast path takes it; chunked, the hono route.
    ['the fast path (Content-Length)', (length: number) => ({ 'content-length': length })],
    ['the hono route (chunked)', () => ({})],
  ])('batch via %s: a get misses the flushed key, a set stays', async (_, framing) => {
    const node = await start();
    const ops = pack([
      ['get', 'old'],
      ['set', 'new', new Uint8Array([118])],
    ]);
    const { status, body } = await acrossTheFlushTime(node, '/v1/batch', ops, 3, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', ...framing(ops.length) },
    });
    expect(status).toBe(200);
    const results = unpack(body) as unknown[][];
    expect(results[0]).toEqual([404, null, expect.any(Number)]);
    expect(results[1]![0]).toBe(204);
    expect(await node.present(['old', 'new'])).toEqual(['new']);
  });
});

describe('closing drops a pending flush: no timer left, no flush after close', () => {
  // Only the timer functions are faked: sockets keep working, and the clock is real.
  const fakeTimers = () => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  /**
   * The core's coarse clock, read on writes when the memcached port tracks item access, drops its
   * reading after a millisecond with a timer of its own; let that one run so only the flush's would be left.
   */
  const settleClock = () => vi.advanceTimersByTime(COARSE_CLOCK_RESOLUTION_MS);

  it.each([
    [
      'POST /v1/flush?delay=',
      async (server: CacheServer) => {
        const res = await server.app.request('/v1/flush?delay=60000', { method: 'POST' });
        expect(res.status).toBe(204);
      },
    ],
    [
      'memcached flush_all 60',
      async (server: CacheServer) => {
        const mc = new RawClient(server.address!.memcached!.port);
        clients.push(mc);
        await mc.ready();
        expect(await mc.request('flush_all 60\r\n')).toBe('OK\r\n');
      },
    ],
  ])('CacheServer.close() after %s', async (_, schedule) => {
    fakeTimers();
    const server = new CacheServer({ memcachedPort: 0, logLevel: 'silent', stallThreshold: 0 });
    await server.listen({ host: '127.0.0.1', port: 0 });
    server.cache.set('k', { bytes: new Uint8Array([1]), flags: 0 });
    await schedule(server);
    for (const client of clients.splice(0)) client.close();
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    const clears = vi.spyOn(server.cache, 'clear');
    await server.close();
    settleClock();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(DAY_MS);
    expect(clears).not.toHaveBeenCalled();
    expect(server.cache.peekEntry('k')).toBeDefined();
  });

  it('CacheServer.close() of a node that never listened', async () => {
    fakeTimers();
    const server = new CacheServer({ logLevel: 'silent' });
    expect((await server.app.request('/v1/flush?delay=60000', { method: 'POST' })).status).toBe(
      204,
    );
    expect(vi.getTimerCount()).toBe(1);
    await server.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a memcached listener of its own cancels its flush when closed', async () => {
    fakeTimers();
    const cache = newCache();
    const listener = createMemcachedListener({ cache });
    const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
    const mc = new RawClient(port);
    await mc.ready();
    expect(await mc.request('set k 0 0 1\r\nv\r\nflush_all 60\r\n')).toBe('STORED\r\nOK\r\n');
    mc.close();
    await listener.close();
    settleClock();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(DAY_MS);
    expect(cache.peekEntry('k')).toBeDefined();
  });
});
