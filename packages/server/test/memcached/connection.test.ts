import { describe, expect, test } from 'vitest';
import { open } from './fake-connection.js';

describe('streaming parser', () => {
  test('all replies to one input chunk leave in a single write, in order', () => {
    const { socket } = open();
    const commands = Array.from(
      { length: 50 },
      (_, i) => `set k${i} 0 0 1\r\n${i % 10}\r\nget k${i}\r\n`,
    );
    socket.emit('data', Buffer.from(commands.join('')));
    expect(socket.writes).toHaveLength(1);
    const expected = Array.from(
      { length: 50 },
      (_, i) => `STORED\r\nVALUE k${i} 0 1\r\n${i % 10}\r\nEND\r\n`,
    );
    expect(socket.text()).toBe(expected.join(''));
  });

  test('a command split at every byte boundary still parses (binary data included)', () => {
    const { socket } = open();
    const input = Buffer.concat([
      Buffer.from('set bin 3 0 4\r\n'),
      Buffer.from([13, 10, 0, 255]),
      Buffer.from('\r\ngets bin\r\n'),
    ]);
    for (const byte of input) socket.emit('data', Buffer.from([byte]));
    const out = Buffer.concat(socket.writes);
    expect(out.toString('latin1')).toMatch(/^STORED\r\nVALUE bin 3 4 \d+\r\n/);
    expect(out.includes(Buffer.from([13, 10, 0, 255, 13, 10]))).toBe(true);
  });

  test('a get failing on a later key drops only its own reply, even after large values', () => {
    const { socket } = open();
    const big = 'b'.repeat(5000);
    const small = 's'.repeat(3000);
    socket.emit(
      'data',
      Buffer.from(
        `set big 0 0 ${big.length}\r\n${big}\r\nset small 0 0 ${small.length}\r\n${small}\r\n`,
      ),
    );
    socket.writes = [];
    const longKey = 'k'.repeat(251);
    socket.emit(
      'data',
      Buffer.from(`version\r\nget small big small big ${longKey}\r\nversion\r\n`),
    );
    expect(socket.text()).toBe(
      'VERSION test\r\nCLIENT_ERROR bad command line format\r\nVERSION test\r\n',
    );
  });

  test('a get of one key over the limit answers only the error, after the replies before it', () => {
    const { socket } = open();
    socket.emit('data', Buffer.from('set a 0 0 1\r\nx\r\n'));
    socket.writes = [];
    const longKey = 'k'.repeat(251);
    socket.emit('data', Buffer.from(`get a\r\nget ${longKey}\r\ngat 0 ${longKey}\r\nget a\r\n`));
    const hit = 'VALUE a 0 1\r\nx\r\nEND\r\n';
    const error = 'CLIENT_ERROR bad command line format\r\n';
    expect(socket.text()).toBe(`${hit}${error}${error}${hit}`);
  });

  test('a Buffer handed to the socket never changes afterwards (large replies, then small)', () => {
    const { socket } = open();
    const values = ['a', 'b', 'c'].map((c) => c.repeat(1500));
    socket.emit(
      'data',
      Buffer.from(values.map((v, i) => `set k${i} 0 0 ${v.length}\r\n${v}\r\n`).join('')),
    );
    // Each get answers ~4.5 KiB (handed over as a view of the reply slab), each mn a few bytes
    // (copied out, after which the slab is written from the start again). The gets rotate their
    // keys, so a reply written over an earlier one changes its bytes.
    const rounds = 20;
    let expected = 'STORED\r\n'.repeat(3);
    for (let r = 0; r < rounds; r++) {
      const order = [0, 1, 2].map((i) => (i + r) % 3);
      socket.emit('data', Buffer.from(`get ${order.map((i) => `k${i}`).join(' ')}\r\n`));
      socket.emit('data', Buffer.from('mn\r\n'));
      const hits = order.map((i) => `VALUE k${i} 0 1500\r\n${values[i]!}\r\n`).join('');
      expected += `${hits}END\r\nMN\r\n`;
    }
    expect(socket.changedAfterWrite()).toBe(0);
    expect(socket.text()).toBe(expected);
  });

  test('a long key echoed in a reply is copied, not a view of the reused read buffer', () => {
    const { socket } = open({ maxKeyBytes: 8192 });
    const key = 'k'.repeat(5000);
    socket.emit('data', Buffer.from(`set ${key} 0 0 1\r\nx\r\nget ${key}\r\n`));
    // The next chunk lands in the same read buffer (the harness also poisons it after each call).
    socket.emit('data', Buffer.from('X'.repeat(6000) + '\r\n'));
    expect(socket.changedAfterWrite()).toBe(0);
    expect(socket.text().startsWith(`STORED\r\nVALUE ${key} 0 1\r\nx\r\nEND\r\n`)).toBe(true);
  });

  test('a large value arriving in many chunks is stored whole', () => {
    const { socket, shared } = open();
    const value = Buffer.alloc(300_000, 0x61);
    const input = Buffer.concat([
      Buffer.from(`set big 0 0 ${value.length}\r\n`),
      value,
      Buffer.from('\r\n'),
    ]);
    for (let i = 0; i < input.length; i += 65_536)
      socket.emit('data', input.subarray(i, i + 65_536));
    expect(socket.text()).toBe('STORED\r\n');
    expect(Buffer.from(shared.cache.peekEntry('big')!.value.bytes).equals(value)).toBe(true);
  });

  test('back-pressure: a full socket pauses reading and parsing until drain', () => {
    const { socket } = open();
    socket.full = true;
    const big = 'x'.repeat(200_000);
    socket.emit('data', Buffer.from(`set v 0 0 ${big.length}\r\n${big}\r\n`));
    socket.emit('data', Buffer.from('get v\r\nget v\r\nget v\r\nversion\r\n'));
    expect(socket.paused).toBe(true);
    const before = socket.text();
    // Paused mid-chunk: the later commands wait instead of piling replies into memory.
    expect(before).not.toContain('VERSION');
    socket.full = false;
    socket.emit('drain');
    expect(socket.paused).toBe(false);
    expect(socket.text().endsWith('VERSION test\r\n')).toBe(true);
    expect(socket.text().split('VALUE v').length - 1).toBe(3);
  });

  test('an over-long line without a newline closes the connection; a long get line does not', () => {
    const garbage = open();
    garbage.socket.emit('data', Buffer.alloc(3000, 0x61));
    expect(garbage.socket.destroyed).toBe(true);

    const multiget = open();
    multiget.socket.emit('data', Buffer.from(`get ${'k '.repeat(1500)}`));
    expect(multiget.socket.destroyed).toBe(false);
    multiget.socket.emit('data', Buffer.from('\r\n'));
    expect(multiget.socket.text()).toBe('END\r\n');
  });

  test('a long get line and the commands after it, sent in small pieces of one reused read buffer, answer exactly', () => {
    const { socket } = open();
    socket.emit('data', Buffer.from('set k7 0 0 2\r\nv7\r\nset k2999 3 0 5\r\nlast!\r\n'));
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    const input = Buffer.from(`get ${keys.join(' ')}\r\n${'get k7\r\n'.repeat(30)}version\r\n`);
    // The listener reads every socket into one buffer that the next read overwrites: whatever
    // the connection keeps of a read must be its own copy.
    const read = Buffer.alloc(7);
    for (let i = 0; i < input.length; i += 7) {
      const n = input.copy(read, 0, i, i + 7);
      socket.emit('data', read.subarray(0, n));
      read.fill(0x0a);
    }
    expect(socket.destroyed).toBe(false);
    const text = socket.text();
    expect(text).toBe(
      'STORED\r\nSTORED\r\n' +
        'VALUE k7 0 2\r\nv7\r\nVALUE k2999 3 5\r\nlast!\r\nEND\r\n' +
        'VALUE k7 0 2\r\nv7\r\nEND\r\n'.repeat(30) +
        'VERSION test\r\n',
    );
  });

  test('a long get line held while paused keeps its bytes and its place', () => {
    const { socket } = open();
    socket.emit('data', Buffer.from('set v 0 0 5\r\nvalue\r\n'));
    socket.full = true;
    // A large reply fills the socket; the long line after it waits, then arrives in pieces.
    const big = 'x'.repeat(300_000);
    socket.emit('data', Buffer.from(`set b 0 0 ${big.length}\r\n${big}\r\nget b\r\nget v`));
    const line = Buffer.from(` ${'absent '.repeat(1000)}v\r\nversion\r\n`);
    for (let i = 0; i < line.length; i += 1000) socket.emit('data', line.subarray(i, i + 1000));
    expect(socket.text()).not.toContain('VERSION');
    socket.full = false;
    socket.emit('drain');
    expect(
      socket
        .text()
        .endsWith('VALUE v 0 5\r\nvalue\r\nVALUE v 0 5\r\nvalue\r\nEND\r\nVERSION test\r\n'),
    ).toBe(true);
  });

  test('a flood of get-prefixed garbage is cut off at a bounded size', () => {
    const { socket } = open();
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    socket.emit('data', Buffer.from('get '));
    let sent = 0;
    while (!socket.destroyed && sent < 8 * 1024 * 1024) {
      socket.emit('data', chunk);
      sent += chunk.length;
    }
    expect(socket.destroyed).toBe(true);
    expect(sent).toBeLessThanOrEqual(1024 * 1024 + chunk.length);
  });
});

describe('errors as memcached gives them', () => {
  const reply = (input: string, maxValueBytes?: number) => {
    const { socket, shared } = open({ maxValueBytes });
    socket.emit('data', Buffer.from(input, 'utf8'));
    return { text: socket.text(), shared };
  };

  test.each([
    ['bogus\r\n', 'ERROR\r\n'],
    ['\r\n', 'ERROR\r\n'],
    [`set ${'k'.repeat(251)} 0 0 1\r\nx\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n'],
    // Like memcached, any byte but space and NUL may be part of a key.
    ['set a\tb 0 0 1\r\nx\r\nget a\tb\r\n', 'STORED\r\nVALUE a\tb 0 1\r\nx\r\nEND\r\n'],
    ['get a\u007fb\r\n', 'END\r\n'],
    ['set a 0 0 3\r\nabcde\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n'],
    ['incr a 1\r\n', 'NOT_FOUND\r\n'],
    [
      'set n 0 0 1\r\nx\r\nincr n 1\r\n',
      'STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n',
    ],
  ])('%j → %j', (input, expected) => {
    expect(reply(input).text).toBe(expected);
  });

  test('binary keys (memaslap sends them) are their own keys, apart from any UTF-8 key', () => {
    const { socket, shared } = open();
    const binary = Buffer.from([0x10, 0xb0, 0xff, 0x41]);
    socket.emit(
      'data',
      Buffer.concat([
        Buffer.from('set '),
        binary,
        Buffer.from(' 0 0 1\r\nb\r\n'),
        Buffer.from('set \u0010\ufffd\ufffdA 0 0 1\r\nu\r\n'),
        Buffer.from('get '),
        binary,
        Buffer.from('\r\nmg '),
        binary,
        Buffer.from(' k v\r\n'),
      ]),
    );
    const key = binary.toString('latin1');
    expect(socket.text()).toBe(
      `STORED\r\nSTORED\r\nVALUE ${key} 0 1\r\nb\r\nEND\r\nVA 1 k${key}\r\nb\r\n`,
    );
    expect(shared.cache.stats.items).toBe(2);
  });

  test('a value over maxValueBytes: data consumed, SERVER_ERROR, and set removes the old value', () => {
    const { text, shared } = reply(
      'set k 0 0 1\r\nx\r\nset k 0 0 20\r\n01234567890123456789\r\nget k\r\n',
      10,
    );
    expect(text).toBe('STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n');
    expect(shared.counters.store_too_large).toBe(1);
  });

  test('an oversized add or append keeps the old value, as memcached does', () => {
    const { text } = reply(
      'set k 0 0 1\r\nx\r\nadd k 0 0 20\r\n01234567890123456789\r\nget k\r\n',
      10,
    );
    expect(text).toBe(
      'STORED\r\nSERVER_ERROR object too large for cache\r\nVALUE k 0 1\r\nx\r\nEND\r\n',
    );
  });

  test('an append or prepend that would grow the item past the limit is NOT_STORED (NS), as memcached answers', () => {
    const { text } = reply(
      'set k 0 0 6\r\nabcdef\r\nappend k 0 0 5\r\n12345\r\nprepend k 0 0 5\r\n12345\r\n' +
        'append k 0 0 5 noreply\r\n12345\r\nms k 5 MA\r\n12345\r\nms k 5 MP q\r\n12345\r\nmn\r\n' +
        'append k 0 0 4\r\n1234\r\nget k\r\n',
      10,
    );
    expect(text).toBe(
      'STORED\r\nNOT_STORED\r\nNOT_STORED\r\nNS\r\nNS\r\nMN\r\nSTORED\r\nVALUE k 0 10\r\nabcdef1234\r\nEND\r\n',
    );
  });

  test('memory pressure evicts instead of answering SERVER_ERROR out of memory', () => {
    const { socket, shared } = open({ maxMemory: 256 * 1024 });
    const value = 'v'.repeat(1000);
    // 2 MB through a 256 KiB cache, then one more store that must succeed.
    const sets = Array.from(
      { length: 2000 },
      (_, i) => `set k${i} 0 0 1000 noreply\r\n${value}\r\n`,
    );
    for (let i = 0; i < sets.length; i += 500)
      socket.emit('data', Buffer.from(sets.slice(i, i + 500).join('')));
    socket.emit('data', Buffer.from(`set last 0 0 1000\r\n${value}\r\n`));
    expect(socket.text()).toBe('STORED\r\n');
    expect(shared.cache.stats.evictions).toBeGreaterThan(0);
  });
});
