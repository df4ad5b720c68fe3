import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createMemcachedListener } from '../../src/memcached/index.js';
import { VERSION } from '../../src/version.js';
import { newCache, RawClient, startListener } from './helpers.js';
import type { Started } from './helpers.js';

const started: Started[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of started.splice(0)) await s.listener.close();
});

async function setup(options: Parameters<typeof startListener>[0] = {}) {
  const s = await startListener(options);
  started.push(s);
  const client = new RawClient(s.port);
  clients.push(client);
  await client.ready();
  return { s, client };
}

/** A clock the test moves by hand; both the cache and the listener read it. */
function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/**
 * A listener with `idleTimeoutMs` holding a 1 MiB value, and a client that has asked for it 64
 * times in one `get` (more than the loopback socket buffers hold) and counts what it received.
 */
async function askForBigReply(
  idleTimeoutMs: number,
): Promise<{ reader: Socket; total: number; received: () => number }> {
  const s = await startListener({ idleTimeoutMs });
  started.push(s);
  const value = Buffer.alloc(1024 * 1024, 0x61);
  s.cache.set('big', { bytes: value, flags: 0 });
  const reader = connect(s.port, '127.0.0.1');
  reader.on('error', () => {});
  await new Promise((resolve) => reader.once('connect', resolve));
  const copies = 64;
  const total = copies * (`VALUE big 0 ${value.length}\r\n`.length + value.length + 2) + 5;
  let received = 0;
  reader.on('data', (d: Buffer) => (received += d.length));
  reader.write(`get${' big'.repeat(copies)}\r\n`);
  return { reader, total, received: () => received };
}

describe('expiration times', () => {
  test('relative seconds, absolute Unix times, negative and 0', async () => {
    const clock = manualClock();
    const { client } = await setup({ now: clock.now, cache: newCache(clock.now) });
    const abs = Math.floor(clock.now() / 1000) + 100;
    await client.request(
      `set rel 0 10 1\r\na\r\nset abs 0 ${abs} 1\r\nb\r\nset never 0 0 1\r\nc\r\nset gone 0 -1 1\r\nd\r\n`,
    );
    expect(await client.request('get rel abs never gone\r\n')).toBe(
      'VALUE rel 0 1\r\na\r\nVALUE abs 0 1\r\nb\r\nVALUE never 0 1\r\nc\r\nEND\r\n',
    );
    clock.advance(10_001);
    expect(await client.request('get rel abs\r\n')).toBe('VALUE abs 0 1\r\nb\r\nEND\r\n');
    clock.advance(90_000);
    expect(await client.request('get abs never\r\n')).toBe('VALUE never 0 1\r\nc\r\nEND\r\n');
  });

  test('touch, gat and mg T reset the lifetime; mg t reports it', async () => {
    const clock = manualClock();
    const { client } = await setup({ now: clock.now, cache: newCache(clock.now) });
    await client.request('set k 0 5 1\r\nx\r\n');
    expect(await client.request('mg k t\r\ntouch k 100\r\nmg k t\r\n')).toBe(
      'HD t5\r\nTOUCHED\r\nHD t100\r\n',
    );
    clock.advance(50_000);
    expect(await client.request('gat 0 k\r\nmg k t\r\n')).toBe(
      'VALUE k 0 1\r\nx\r\nEND\r\nHD t-1\r\n',
    );
    expect(await client.request('mg k T-1 v\r\nmg k v\r\n')).toBe('VA 1\r\nx\r\nEN\r\n');
  });

  test('flush_all with a delay empties the cache when the delay has passed', async () => {
    const clock = manualClock();
    const { client } = await setup({ now: clock.now, cache: newCache(clock.now) });
    await client.request('set a 0 0 1\r\n1\r\n');
    expect(await client.request('flush_all 10\r\n')).toBe('OK\r\n');
    await client.request('set b 0 0 1\r\n2\r\n');
    expect(await client.request('get a b\r\n')).toBe(
      'VALUE a 0 1\r\n1\r\nVALUE b 0 1\r\n2\r\nEND\r\n',
    );
    clock.advance(10_000);
    // Everything written before the flush time is gone; writes after it stay.
    expect(await client.request('get a b\r\nset c 0 0 1\r\n3\r\nget c\r\n')).toBe(
      'END\r\nSTORED\r\nVALUE c 0 1\r\n3\r\nEND\r\n',
    );
  });
});

describe('meta protocol', () => {
  test('quiet mode: only misses are silenced, mn closes the batch', async () => {
    const { client } = await setup();
    client.send('ms a 2 q\r\nhi\r\nmg a v q Oa\r\nmg nope v q Ob\r\nmd nope q\r\nmn\r\n');
    expect(await client.until('MN\r\n')).toBe('VA 2 Oa\r\nhi\r\nNF\r\nMN\r\n');
  });

  test('N vivifies a miss and hands out one win token; md I marks stale', async () => {
    const { client } = await setup();
    expect(await client.request('mg k N30 s\r\nmg k N30 s\r\n')).toBe('HD s0 W\r\nHD s0 Z\r\n');
    await client.request('ms k 1\r\nv\r\n');
    expect(await client.request('md k I\r\nmg k v\r\nmg k v\r\n')).toBe(
      'HD\r\nVA 1 X W\r\nv\r\nVA 1 Z X\r\nv\r\n',
    );
  });

  test('ma counts, creates with N/J, and answers with v', async () => {
    const { client } = await setup();
    expect(await client.request('ma c N0 J41 v\r\nma c v\r\nma c MD D50 v\r\n')).toBe(
      'VA 2\r\n41\r\nVA 2\r\n42\r\nVA 1\r\n0\r\n',
    );
  });

  test('b keys are base64 and echo back encoded', async () => {
    const { client } = await setup();
    const key = Buffer.from('ключ').toString('base64');
    expect(await client.request(`ms ${key} 1 b k\r\nx\r\nmg ${key} b k v\r\nget ключ\r\n`)).toBe(
      `HD k${key} b\r\nVA 1 k${key} b\r\nx\r\nVALUE ключ 0 1\r\nx\r\nEND\r\n`.replace(
        /ключ/g,
        Buffer.from('ключ').toString('latin1'),
      ),
    );
  });
});

describe('connections', () => {
  test('quit closes after the replies before it', async () => {
    const { client } = await setup();
    client.send('version\r\nquit\r\nversion\r\n');
    expect(await client.until('\u0000never')).toBe('VERSION 1.6.18\r\n');
    expect(client.closed).toBe(true);
  });

  test("maxConnections refuses the next client with memcached's error line", async () => {
    const { s } = await setup({ maxConnections: 1 });
    const second = new RawClient(s.port);
    clients.push(second);
    expect(await second.until('\u0000never')).toBe('ERROR Too many open connections\r\n');
    expect(second.closed).toBe(true);
    expect(s.listener.stats.rejected_connections).toBe(1);
    expect(s.listener.stats.curr_connections).toBe(1);
  });

  test('a refused client that never closes its side does not hold close() up', async () => {
    const s = await startListener({ maxConnections: 1, closeTimeoutMs: 200 });
    const first = new RawClient(s.port);
    clients.push(first);
    await first.ready();
    // Half-open: reads the refusal and the server's FIN but never sends its own.
    const stubborn = connect({ port: s.port, host: '127.0.0.1', allowHalfOpen: true });
    stubborn.on('error', () => {});
    const refusal = await new Promise<string>((resolve) => {
      let text = '';
      stubborn.on('data', (d: Buffer) => (text += d.toString('latin1')));
      stubborn.once('end', () => resolve(text));
    });
    expect(refusal).toBe('ERROR Too many open connections\r\n');
    // close() waits for every socket the server still counts, the refused one included.
    const outcome = await Promise.race([
      s.listener.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000)),
    ]);
    stubborn.destroy();
    expect(outcome).toBe('closed');
  });

  test('an idle connection is closed after idleTimeoutMs', async () => {
    const { s, client } = await setup({ idleTimeoutMs: 50 });
    await client.until('\u0000never', 5000);
    expect(client.closed).toBe(true);
    expect(s.listener.stats.idle_kicks).toBe(1);
  });

  test('a client still taking in a reply larger than the kernel buffers is not cut off as idle', async () => {
    // Replies go straight to the socket's handle, whose writes do not refresh the idle timer. The
    // timeout is 4× the reader's pauses: a busy machine stretches a 100 ms timer by hundreds of ms.
    const idleTimeoutMs = 400;
    const { reader, total, received } = await askForBigReply(idleTimeoutMs);
    // Reads in short bursts with long pauses, never sending anything: the reply (more than the
    // loopback socket buffers hold) keeps moving for several idle timeouts.
    const started_ = Date.now();
    while (received() < total && Date.now() - started_ < 20_000 && !reader.destroyed) {
      reader.pause();
      await new Promise((resolve) => setTimeout(resolve, 100));
      reader.resume();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    // Never cut mid-reply (once the node has handed the whole reply over, it may close).
    expect(received()).toBe(total);
    expect(Date.now() - started_).toBeGreaterThan(3 * idleTimeoutMs);
    reader.destroy();
  });

  test('a stall of the node itself, longer than the idle timeout, does not cut a client taking in a reply', async () => {
    // The listener runs on this worker's event loop: blocking it is the node stalling (GC, a
    // starved CPU), and the reader can take nothing meanwhile. Twice in a row, with a timer turn
    // between, once the socket buffers are full: the look after the first stall still sees bytes
    // that moved before it, the look after the second sees none (on CI a 64 MiB reply was cut at
    // 59 MiB this way).
    const idleTimeoutMs = 400;
    const { reader, total, received } = await askForBigReply(idleTimeoutMs);
    const stall = (): void => {
      const until = performance.now() + 3 * idleTimeoutMs;
      while (performance.now() < until); // the node's loop stands still
    };
    let stalls = 0;
    for (let i = 0; received() < total && i < 1000 && !reader.destroyed; i++) {
      reader.pause();
      if (i % 2 === 1 && stalls < 2) {
        stalls++;
        await new Promise((resolve) => setTimeout(resolve, 50)); // the kernel buffers fill
        stall();
        await new Promise((resolve) => setTimeout(resolve, 1)); // the node's idle look runs
        stall();
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
      reader.resume();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(received()).toBe(total);
    expect(stalls).toBe(2);
    reader.destroy();
  });

  test('close() ends every connection and resolves once they are closed', async () => {
    const s = await startListener();
    const a = new RawClient(s.port);
    const b = new RawClient(s.port);
    clients.push(a, b);
    await Promise.all([a.ready(), b.ready()]);
    expect(await a.request('set k 0 0 1\r\nx\r\n')).toBe('STORED\r\n');
    await s.listener.close();
    await Promise.all([a.until('\u0000never'), b.until('\u0000never')]);
    expect(a.closed && b.closed).toBe(true);
    expect(s.listener.stats.curr_connections).toBe(0);
  });

  test('stats reports connection and command counters and the core numbers', async () => {
    const { s, client } = await setup();
    await client.request('set a 0 0 3\r\nabc\r\nget a\r\nget b\r\n');
    const stats = await client.request('stats\r\n');
    const map = new Map(
      stats
        .split('\r\n')
        .filter((l) => l.startsWith('STAT '))
        .map((l) => l.split(' ').slice(1) as [string, string]),
    );
    expect(map.get('curr_connections')).toBe('1');
    expect(map.get('cmd_get')).toBe('2');
    expect(map.get('cmd_set')).toBe('2'); // the set and the request() sync marker
    expect(map.get('get_hits')).toBe('1');
    expect(map.get('get_misses')).toBe('1');
    expect(map.get('curr_items')).toBe('2');
    expect(map.get('version')).toBe('1.6.18'); // the default, as shipped
    expect(map.get('dcache_version')).toBe(VERSION);
    expect(s.listener.stats.total_connections).toBe(1);
  });

  test('options are validated with errors that name the option', () => {
    const cache = newCache();
    expect(() => createMemcachedListener({ cache, maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => createMemcachedListener({ cache, idleTimeoutMs: 1.5 })).toThrow(TypeError);
    // Node fires a timer set past 2^31 − 1 ms after 1 ms: every partial block would be cut at once.
    for (const name of [
      'inputTimeoutMs',
      'idleTimeoutMs',
      'closeTimeoutMs',
      'tlsHandshakeTimeoutMs',
    ] as const) {
      expect(() => createMemcachedListener({ cache, [name]: 2 ** 31 - 1 })).not.toThrow();
      expect(() => createMemcachedListener({ cache, [name]: 2 ** 31 })).toThrow(
        new RegExp(`${name} must be at most 2147483647`),
      );
    }
    expect(() => createMemcachedListener({ cache: {} as never })).toThrow(/cache/);
  });

  test('an unknown option is refused, naming it, rather than running with a default', () => {
    const cache = newCache();
    // A misspelt maxConnections would otherwise leave the port at its default limit, silently.
    const misspelt = { cache, maxConection: 10 } as Parameters<typeof createMemcachedListener>[0];
    expect(() => createMemcachedListener(misspelt)).toThrow(TypeError);
    expect(() => createMemcachedListener(misspelt)).toThrow(/unknown option "maxConection"/);
  });
});
