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
  test('grows by half, keeps a view of itself in place, and lets a large buffer go for a few bytes', () => {
    const carry = new InputCarry();
    carry.keep(Buffer.from('get a'), true);
    expect(carry.searched).toBe(5);
    let view = carry.append(Buffer.alloc(10_000, 0x61));
    expect(view.length).toBe(10_005);
    expect(carry.footprint).toBe(10_005);
    carry.keep(view.subarray(5_000), true);
    view = carry.append(Buffer.alloc(10_000, 0x62));
    expect(view.length).toBe(15_005);
    // Half again the 10,005 bytes it had, which is more than needed here.
    expect(carry.footprint).toBe(15_008);
    // A few bytes after the long line: a small buffer of its own, not the 15 kB one.
    carry.keep(view.subarray(15_000), false);
    expect(carry.length).toBe(5);
    expect(carry.searched).toBe(0);
    expect(carry.footprint).toBeLessThanOrEqual(4096);
    expect(carry.take().toString()).toBe('bbbbb');
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
    expect(carry.footprint).toBeLessThanOrEqual(1.5 * line.length);
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
