import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { FlushScheduler } from '../../src/memcached/flush-scheduler.js';
import { open } from './fake-connection.js';

/** Connections sharing one scheduler, as the listener's connections do. */
function openMany(count: number) {
  const flushes = new FlushScheduler();
  const conns = Array.from({ length: count }, () => open(undefined, undefined, undefined, flushes));
  return { flushes, conns };
}

describe('replies written once per event-loop turn (the listener’s FlushScheduler)', () => {
  test('replies wait for the end of the turn, then leave in one write per connection', async () => {
    const {
      conns: [a, b],
    } = openMany(2);
    a!.socket.emit('data', Buffer.from('set k1 0 0 2\r\nv1\r\nget k1\r\n'));
    b!.socket.emit('data', Buffer.from('version\r\n'));
    // A second chunk for the same connection in the same turn (the shared read buffer was
    // poisoned in between: the replies must already be copies).
    a!.socket.emit('data', Buffer.from('get k1 missing\r\n'));
    expect(a!.socket.writes).toHaveLength(0);
    expect(b!.socket.writes).toHaveLength(0);

    await nextTurn();
    expect(a!.socket.writes).toHaveLength(1);
    expect(a!.socket.text()).toBe(
      'STORED\r\nVALUE k1 0 2\r\nv1\r\nEND\r\nVALUE k1 0 2\r\nv1\r\nEND\r\n',
    );
    expect(b!.socket.writes).toHaveLength(1);
    expect(b!.socket.text()).toBe('VERSION test\r\n');
    expect(a!.socket.changedAfterWrite()).toBe(0);
  });

  test('the next turn writes again (the scheduler re-arms after each flush)', async () => {
    const {
      conns: [a],
    } = openMany(1);
    for (let turn = 0; turn < 3; turn++) {
      a!.socket.emit('data', Buffer.from(`set k${turn} 0 0 1\r\n${turn}\r\n`));
      await nextTurn();
      expect(a!.socket.writes).toHaveLength(turn + 1);
    }
    expect(a!.socket.text()).toBe('STORED\r\n'.repeat(3));
  });

  test('back-pressure: a full socket pauses reading at the deferred write, drain resumes', async () => {
    const {
      conns: [a],
    } = openMany(1);
    const { socket } = a!;
    socket.full = true;
    const big = 'x'.repeat(200_000);
    socket.emit('data', Buffer.from(`set v 0 0 ${big.length}\r\n${big}\r\n`));
    await nextTurn();
    expect(socket.paused).toBe(true);
    socket.emit('data', Buffer.from('get v\r\nversion\r\n'));
    expect(socket.text()).toBe('STORED\r\n');
    socket.full = false;
    socket.emit('drain');
    await nextTurn();
    expect(socket.paused).toBe(false);
    expect(socket.text()).toBe(
      `STORED\r\nVALUE v 0 ${big.length}\r\n${big}\r\nEND\r\nVERSION test\r\n`,
    );
  });

  test('quit writes the replies queued before it, then closes, without waiting for the turn', () => {
    const {
      conns: [a],
    } = openMany(1);
    a!.socket.emit('data', Buffer.from('set k 0 0 1\r\nx\r\nquit\r\nget k\r\n'));
    expect(a!.socket.text()).toBe('STORED\r\n');
    expect(a!.socket.ended).toBe(true);
  });

  test('a connection whose write throws is dropped; the others still get their replies', async () => {
    const {
      conns: [broken, healthy],
    } = openMany(2);
    broken!.socket.write = () => {
      throw new Error('simulated failure inside write');
    };
    broken!.socket.emit('data', Buffer.from('version\r\n'));
    healthy!.socket.emit('data', Buffer.from('version\r\n'));
    await nextTurn();
    expect(broken!.socket.destroyed).toBe(true);
    expect(healthy!.socket.text()).toBe('VERSION test\r\n');
  });
});
