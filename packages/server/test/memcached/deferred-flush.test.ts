import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { FlushScheduler } from '../../src/memcached/flush-scheduler.js';
import { open } from './fake-connection.js';

/** Connections sharing one scheduler, as the listener's connections do. */
function openMany(count: number) {
  const flushes = new FlushScheduler();
  const conns = Array.from({ length: count }, () => open({ flushes }));
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

  test('back-pressure: a full socket pauses parsing at the deferred write, drain resumes', async () => {
    const {
      conns: [a],
    } = openMany(1);
    const { socket, shared } = a!;
    socket.full = true;
    socket.emit('data', Buffer.from('set v 0 0 3\r\nabc\r\n'));
    await nextTurn();
    expect(socket.paused).toBe(true);
    // Input that still arrives while paused waits unparsed: no command runs, nothing is written.
    socket.emit('data', Buffer.from('get v\r\nversion\r\n'));
    await nextTurn();
    expect(shared.counters.cmd_get).toBe(0);
    expect(socket.writes).toHaveLength(1);
    socket.full = false;
    socket.emit('drain');
    await nextTurn();
    expect(socket.paused).toBe(false);
    expect(shared.counters.cmd_get).toBe(1);
    expect(socket.text()).toBe('STORED\r\nVALUE v 0 3\r\nabc\r\nEND\r\nVERSION test\r\n');
  });

  test('quit writes the replies queued before it — also from earlier chunks of the turn — then closes', async () => {
    const {
      conns: [a],
    } = openMany(1);
    a!.socket.emit('data', Buffer.from('set k 0 0 1\r\nx\r\n'));
    a!.socket.emit('data', Buffer.from('get k\r\nquit\r\nget k\r\n'));
    expect(a!.socket.text()).toBe('STORED\r\nVALUE k 0 1\r\nx\r\nEND\r\n');
    expect(a!.socket.ended).toBe(true);
    await nextTurn();
    expect(a!.socket.writes).toHaveLength(1);
    expect(a!.socket.writesAfterClose).toBe(0);
  });

  test('closing a connection with replies queued (the listener on SIGTERM) writes them first', async () => {
    const {
      conns: [a],
    } = openMany(1);
    a!.socket.emit('data', Buffer.from('version\r\n'));
    a!.conn.end();
    expect(a!.socket.text()).toBe('VERSION test\r\n');
    expect(a!.socket.ended).toBe(true);
    await nextTurn();
    expect(a!.socket.writesAfterClose).toBe(0);
  });

  test('a destroyed socket left in the queue is skipped', async () => {
    const {
      conns: [a, b],
    } = openMany(2);
    a!.socket.emit('data', Buffer.from('version\r\n'));
    b!.socket.emit('data', Buffer.from('version\r\n'));
    a!.socket.destroyed = true;
    await nextTurn();
    expect(a!.socket.writes).toHaveLength(0);
    expect(b!.socket.text()).toBe('VERSION test\r\n');
  });

  test('an over-long line after queued replies: they are written, then the connection closes', () => {
    const {
      conns: [a],
    } = openMany(1);
    a!.socket.emit('data', Buffer.from('version\r\n'));
    a!.socket.emit('data', Buffer.alloc(3000, 0x61));
    expect(a!.socket.text()).toBe('VERSION test\r\n');
    expect(a!.socket.destroyed).toBe(true);
  });

  test('replies beyond the flush threshold leave mid-turn, so one turn cannot balloon memory', async () => {
    const {
      conns: [a],
    } = openMany(1);
    const value = 'v'.repeat(100_000);
    a!.socket.emit('data', Buffer.from(`set big 0 0 ${value.length}\r\n${value}\r\n`));
    // ~300 KB of replies from one chunk: over the 256 KiB threshold, written before the turn ends.
    a!.socket.emit('data', Buffer.from('get big\r\n'.repeat(3)));
    expect(a!.socket.writes.length).toBeGreaterThan(0);
    await nextTurn();
    expect(a!.socket.text().split('VALUE big').length - 1).toBe(3);
  });

  test('bytes_written counts what was written, once the turn has written it', async () => {
    const {
      conns: [a],
    } = openMany(1);
    a!.socket.emit('data', Buffer.from('version\r\n'));
    expect(a!.shared.counters.bytes_written).toBe(0);
    await nextTurn();
    expect(a!.shared.counters.bytes_written).toBe('VERSION test\r\n'.length);
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
