// What a connection holds of its input between reads, and what the input budget counts of it:
// a long `get` line reserves the carry's whole buffer while it is held, gives it back however the
// line ends (answered, too long, the peer gone), and a short line left after a long one keeps no
// large buffer the budget does not count.
import { describe, expect, test } from 'vitest';
import { InputBudget } from '../../src/memcached/input-budget.js';
import { InputCarry } from '../../src/memcached/input-carry.js';
import { open } from './fake-connection.js';

/** Sends `input` in pieces of `size` bytes, as reads of one reused buffer. */
function sendInPieces(
  socket: { emit(event: 'data', chunk: Buffer): boolean },
  input: Buffer,
  size: number,
) {
  const read = Buffer.alloc(size);
  for (let i = 0; i < input.length; i += size) {
    const n = input.copy(read, 0, i, i + size);
    socket.emit('data', read.subarray(0, n));
    read.fill(0x0a);
  }
}

describe('InputCarry', () => {
  test('appends in blocks that double up to 16 KiB, and gives everything back in order, once', () => {
    const carry = new InputCarry();
    carry.keep(Buffer.from('get a'), true);
    expect(carry.searched).toBe(5);
    expect(carry.footprint).toBe(256);
    for (let i = 0; i < 100; i++) carry.append(Buffer.alloc(100, 0x61 + (i % 26)), true);
    expect(carry.length).toBe(10_005);
    expect(carry.searched).toBe(10_005);
    // At most about twice a short line, a block more than a long one.
    expect(carry.footprint).toBeLessThanOrEqual(10_005 + 16 * 1024);
    carry.append(Buffer.from(' b\r\nget'));
    expect(carry.searched).toBe(10_005);
    expect(carry.head(4).toString()).toBe('get ');
    const all = carry.takeAll();
    expect(carry.length).toBe(0);
    expect(carry.footprint).toBe(0);
    expect(all.length).toBe(10_012);
    expect(all.subarray(0, 6).toString()).toBe('get aa');
    expect(all.subarray(5 + 26 * 100, 5 + 26 * 100 + 1).toString()).toBe('a');
    expect(all.subarray(10_005).toString()).toBe(' b\r\nget');
  });

  test('keeps a short line in a small block, and a large read in blocks of 16 KiB', () => {
    const carry = new InputCarry();
    carry.keep(Buffer.from('ge'), false);
    expect(carry.footprint).toBe(256);
    expect(carry.searched).toBe(0);
    carry.append(Buffer.alloc(64 * 1024, 0x20));
    // The small block filled, then blocks of 16 KiB, the last one the size of what was left.
    expect(carry.footprint).toBe(256 + 64 * 1024 - 254);
    expect(carry.takeAll().subarray(0, 3).toString()).toBe('ge ');
  });
});

describe('the input budget and long get lines', () => {
  test('a long line reserves the whole carry while held, and gives it back once answered', () => {
    const input = new InputBudget(64 * 1024 * 1024);
    const { socket, conn } = open({ limits: { input } });
    const line = Buffer.from(`get ${'k '.repeat(300_000)}`);
    sendInPieces(socket, line, 1000);
    const carry = (conn as unknown as { pending: InputCarry }).pending;
    expect(input.total).toBe(carry.footprint);
    expect(carry.footprint).toBeGreaterThanOrEqual(line.length);
    expect(carry.footprint).toBeLessThanOrEqual(line.length + 16 * 1024);
    socket.emit('data', Buffer.from('\r\n'));
    expect(socket.text()).toBe('END\r\n');
    expect(input.total).toBe(0);
  });

  test('a line past 1 MiB closes the connection and gives its bytes back', () => {
    const input = new InputBudget(64 * 1024 * 1024);
    const { socket } = open({ limits: { input } });
    const line = Buffer.from(`get ${'k'.repeat(1_100_000)}`);
    for (let i = 0; i < line.length && !socket.destroyed; i += 1000) {
      socket.emit('data', line.subarray(i, i + 1000));
    }
    expect(socket.destroyed).toBe(true);
    expect(input.total).toBe(0);
  });

  test('a peer gone mid-line gives its bytes back', () => {
    const input = new InputBudget(64 * 1024 * 1024);
    const { socket } = open({ limits: { input } });
    sendInPieces(socket, Buffer.from(`get ${'k '.repeat(300_000)}`), 1000);
    expect(input.total).toBeGreaterThan(0);
    socket.emit('close');
    expect(input.total).toBe(0);
  });

  test('a look at resuming that comes after the peer is gone reserves nothing again', () => {
    const input = new InputBudget(64 * 1024 * 1024);
    const { socket } = open({ limits: { input } });
    // Paused for output with a long line held behind a reply the socket did not take.
    socket.emit('data', Buffer.from(`set v 0 0 300000\r\n${'x'.repeat(300_000)}\r\n`));
    socket.full = true;
    socket.emit('data', Buffer.from('get v\r\n'));
    sendInPieces(socket, Buffer.from(`get ${'k '.repeat(300_000)}`), 64 * 1024);
    expect(input.total).toBeGreaterThan(0);
    socket.emit('close');
    expect(input.total).toBe(0);
    // A resume queued before the close (a write's completion, a drain) runs after it.
    socket.full = false;
    socket.emit('drain');
    expect(input.total).toBe(0);
  });

  test('a short line left after a long one keeps no more than 4 KiB the budget does not count', () => {
    const input = new InputBudget(64 * 1024 * 1024);
    let uncounted = 0;
    for (let c = 0; c < 100; c++) {
      const { socket, conn } = open({ limits: { input } });
      sendInPieces(socket, Buffer.from(`get ${'k '.repeat(5000)}\r\nge`), 100);
      uncounted += (conn as unknown as { pending: InputCarry }).pending.footprint;
    }
    expect(input.total).toBe(0);
    expect(uncounted).toBeLessThanOrEqual(100 * 4096);
  });
});
