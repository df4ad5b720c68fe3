import { ENTRY_OVERHEAD, heapStringBytes } from '@dcache/core';
import { describe, expect, test } from 'vitest';
import { manualClock } from '../helpers.js';
import { open } from './fake-connection.js';

/** A connection over a cache on a manual clock; `send` returns the replies to one input chunk. */
function session(maxValueBytes?: number, maxMemory?: number) {
  const clock = manualClock(1_800_000_000_000); // a whole second, so absolute exptimes are exact
  const { socket } = open({ maxValueBytes, maxMemory, now: clock.now });
  const send = (input: string): string => {
    socket.writes = [];
    socket.emit('data', Buffer.from(input, 'latin1'));
    return socket.text();
  };
  const stat = (name: string): number => {
    const line = send('stats\r\n')
      .split('\r\n')
      .find((l) => l.startsWith(`STAT ${name} `));
    if (line === undefined) throw new Error(`no STAT ${name}`);
    return Number(line.split(' ')[2]);
  };
  return { clock, send, stat };
}

describe('memcached text commands: effects beyond the reply', () => {
  test('incr and decr keep the remaining TTL of the counter', () => {
    const { clock, send } = session();
    expect(send('set n 0 10 1\r\n5\r\n')).toBe('STORED\r\n');
    clock.advance(4000);
    expect(send('incr n 2\r\n')).toBe('7\r\n');
    expect(send('decr n 1\r\n')).toBe('6\r\n');
    clock.advance(5999);
    expect(send('get n\r\n')).toBe('VALUE n 0 1\r\n6\r\nEND\r\n');
    clock.advance(1);
    expect(send('get n\r\n')).toBe('END\r\n');
  });

  test('incr whose longer number does not fit the memory limit answers SERVER_ERROR and keeps the old value (text and meta)', () => {
    // Room for exactly one entry 'n' holding one digit (these tests' cache counts value bytes only).
    const { send } = session(undefined, heapStringBytes('n') + 1 + ENTRY_OVERHEAD);
    expect(send('set n 0 0 1\r\n8\r\n')).toBe('STORED\r\n');
    expect(send('incr n 1\r\n')).toBe('9\r\n');
    expect(send('incr n 1\r\n')).toBe('SERVER_ERROR out of memory\r\n');
    expect(send('ma n v\r\n')).toBe('SERVER_ERROR out of memory\r\n');
    expect(send('get n\r\n')).toBe('VALUE n 0 1\r\n9\r\nEND\r\n');
    expect(send('decr n 9\r\n')).toBe('0\r\n');
  });

  test('an absolute exptime equal to now is already expired; one second later is not', () => {
    const { clock, send } = session();
    const nowSeconds = clock.now() / 1000;
    expect(send(`set past 0 ${nowSeconds} 1\r\nx\r\n`)).toBe('STORED\r\n');
    expect(send('get past\r\n')).toBe('END\r\n');
    expect(send(`set soon 0 ${nowSeconds + 1} 1\r\ny\r\n`)).toBe('STORED\r\n');
    expect(send('get soon\r\n')).toBe('VALUE soon 0 1\r\ny\r\nEND\r\n');
    clock.advance(1000);
    expect(send('get soon\r\n')).toBe('END\r\n');
  });

  test('a value of exactly the item size limit is stored; one byte more is refused', () => {
    const { send, stat } = session(8);
    expect(send('set k 0 0 8\r\n12345678\r\n')).toBe('STORED\r\n');
    expect(send('set k 0 0 9\r\n123456789\r\n')).toBe(
      'SERVER_ERROR object too large for cache\r\n',
    );
    expect(stat('store_too_large')).toBe(1);
  });

  test('a cas unique beyond 2^53 matches no item: EXISTS or NOT_FOUND, text and meta', () => {
    const { send } = session();
    send('set k 0 0 1\r\nx\r\n');
    const huge = '18446744073709551615';
    expect(send(`cas k 0 0 1 ${huge}\r\ny\r\ncas none 0 0 1 ${huge}\r\ny\r\n`)).toBe(
      'EXISTS\r\nNOT_FOUND\r\n',
    );
    expect(send(`ms k 1 C${huge}\r\ny\r\nms none 1 C${huge}\r\ny\r\n`)).toBe('EX\r\nNF\r\n');
    expect(send('get k\r\n')).toBe('VALUE k 0 1\r\nx\r\nEND\r\n');
  });

  test('stats count touch, delete and cas hits and misses, each apart', () => {
    const { send, stat } = session();
    send('set k 0 0 1\r\nx\r\n');
    const cas = /VALUE k 0 1 (\d+)/.exec(send('gets k\r\n'))![1]!;
    expect(send('touch k 100\r\ntouch k 100\r\ntouch none 100\r\n')).toBe(
      'TOUCHED\r\nTOUCHED\r\nNOT_FOUND\r\n',
    );
    expect(send(`cas k 0 0 1 ${Number(cas) + 1}\r\ny\r\n`)).toBe('EXISTS\r\n');
    expect(send(`cas k 0 0 1 ${cas}\r\ny\r\n`)).toBe('STORED\r\n');
    expect(send(`cas k 0 0 1 ${cas}\r\nz\r\ncas none 0 0 1 1\r\nz\r\n`)).toBe(
      'EXISTS\r\nNOT_FOUND\r\n',
    );
    expect(send('delete none\r\ndelete none\r\ndelete k\r\n')).toBe(
      'NOT_FOUND\r\nNOT_FOUND\r\nDELETED\r\n',
    );
    expect({
      cmd_touch: stat('cmd_touch'),
      touch_hits: stat('touch_hits'),
      touch_misses: stat('touch_misses'),
      cas_hits: stat('cas_hits'),
      cas_badval: stat('cas_badval'),
      cas_misses: stat('cas_misses'),
      delete_hits: stat('delete_hits'),
      delete_misses: stat('delete_misses'),
    }).toEqual({
      cmd_touch: 3,
      touch_hits: 2,
      touch_misses: 1,
      cas_hits: 1,
      cas_badval: 2,
      cas_misses: 1,
      delete_hits: 1,
      delete_misses: 2,
    });
  });

  test('a stale write (ms I with an older CAS) counts as a cas hit, as in memcached 1.6.18', () => {
    const { send, stat } = session();
    send('ms k 1\r\nx\r\n');
    const old = /c(\d+)/.exec(send('mg k c\r\n'))![1]!;
    send('ms k 1\r\ny\r\n');
    expect(send(`ms k 1 I C${old}\r\nz\r\n`)).toBe('HD\r\n');
    expect({ cas_hits: stat('cas_hits'), cas_badval: stat('cas_badval') }).toEqual({
      cas_hits: 1,
      cas_badval: 0,
    });
  });

  test('gat, gats and a touching mg count as memcached 1.6.18 counts them (measured against it)', () => {
    const { send, stat } = session();
    send('set a 0 0 1\r\nx\r\n');
    const counts = () => ({
      cmd_get: stat('cmd_get'),
      cmd_touch: stat('cmd_touch'),
      get_hits: stat('get_hits'),
      get_misses: stat('get_misses'),
      touch_hits: stat('touch_hits'),
      touch_misses: stat('touch_misses'),
    });
    // A hit is a touch; a miss a get miss (memcached's process_mget_command).
    expect(send('mg a T30 v\r\nmg zz T30 v\r\n')).toBe('VA 1\r\nx\r\nEN\r\n');
    expect(counts()).toEqual({
      cmd_get: 1,
      cmd_touch: 1,
      get_hits: 0,
      get_misses: 1,
      touch_hits: 1,
      touch_misses: 0,
    });
    // Touches only, whether they hit or miss: no get_hits, no get_misses.
    expect(send('gat 30 a zz\r\n')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
    expect(send('gats 30 zz a\r\n')).toMatch(/^VALUE a 0 1 \d+\r\nx\r\nEND\r\n$/);
    expect(counts()).toEqual({
      cmd_get: 1,
      cmd_touch: 5,
      get_hits: 0,
      get_misses: 1,
      touch_hits: 3,
      touch_misses: 2,
    });
    // A plain get still counts as a get.
    send('get a zz\r\n');
    expect(counts()).toMatchObject({ cmd_get: 3, get_hits: 1, get_misses: 2 });
    // An item N creates is no miss (a touch hit with T; memcached would also count a get hit
    // without T, see MEMCACHED.md); a miss with u is a get miss.
    expect(send('mg n1 N30 v\r\nmg n2 N30 T30 v\r\nmg zz u v\r\n')).toBe(
      'VA 0 W\r\n\r\nVA 0 W\r\n\r\nEN\r\n',
    );
    expect(counts()).toEqual({
      cmd_get: 5,
      cmd_touch: 6,
      get_hits: 1,
      get_misses: 3,
      touch_hits: 4,
      touch_misses: 2,
    });
  });

  test('the slab-level stats memcached tools list (items, slabs, sizes, conns, cachedump) and extstore are empty', () => {
    const { send } = session();
    send('set a 0 0 1\r\nx\r\n');
    for (const sub of ['items', 'slabs', 'sizes', 'conns', 'cachedump 1 1', 'extstore']) {
      expect(send(`stats ${sub}\r\n`)).toBe('END\r\n');
    }
  });

  test('a gat promotes the item it touches, as a get does', () => {
    // Room for two entries of one-byte keys and values: a third evicts the least recently used.
    const { send } = session(undefined, 2 * (heapStringBytes('a') + 1 + ENTRY_OVERHEAD));
    send('set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\n');
    expect(send('gat 100 a\r\n')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
    send('set c 0 0 1\r\nz\r\n');
    expect(send('get a b\r\n')).toBe('VALUE a 0 1\r\nx\r\nEND\r\n');
  });

  test('stats count incr and decr hits and misses, from text and meta commands alike', () => {
    const { send, stat } = session();
    send('set n 0 0 2\r\n10\r\n');
    expect(send('incr n 1\r\nincr none 1\r\ndecr n 1\r\ndecr none 1\r\ndecr none 1\r\n')).toBe(
      '11\r\nNOT_FOUND\r\n10\r\nNOT_FOUND\r\nNOT_FOUND\r\n',
    );
    expect(send('ma n\r\nma n MD\r\nma none\r\nma none MD\r\n')).toBe('HD\r\nHD\r\nNF\r\nNF\r\n');
    expect({
      incr_hits: stat('incr_hits'),
      incr_misses: stat('incr_misses'),
      decr_hits: stat('decr_hits'),
      decr_misses: stat('decr_misses'),
    }).toEqual({ incr_hits: 2, incr_misses: 2, decr_hits: 2, decr_misses: 3 });
  });
});
