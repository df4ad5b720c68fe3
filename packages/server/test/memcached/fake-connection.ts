import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { MemcachedConnection } from '../../src/memcached/connection.js';
import type { ConnectionLimits } from '../../src/memcached/connection.js';
import { MemcachedCounters } from '../../src/memcached/counters.js';
import type { FlushScheduler } from '../../src/memcached/flush-scheduler.js';
import type { ProtocolShared } from '../../src/memcached/session.js';
import { ProtocolStore } from '../../src/memcached/store.js';
import { newCache } from './helpers.js';

/** A socket stand-in that records writes and can refuse them (a full kernel buffer). */
export class FakeSocket extends EventEmitter {
  writes: Buffer[] = [];
  full = false;
  paused = false;
  ended = false;
  destroyed = false;
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  /** Every Buffer handed over, with a snapshot of its bytes at that moment. */
  handed: { buffer: Buffer; snapshot: Buffer }[] = [];
  /** Writes after end() or destroy() (a real socket would fail them). */
  writesAfterClose = 0;
  write(chunk: Buffer | string, encoding?: BufferEncoding): boolean {
    if (this.ended || this.destroyed) this.writesAfterClose++;
    if (typeof chunk !== 'string')
      this.handed.push({ buffer: chunk, snapshot: Buffer.from(chunk) });
    this.writes.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk));
    return !this.full;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  /** How many Buffers changed after they were handed to write() (a real socket may still send them). */
  changedAfterWrite(): number {
    return this.handed.filter(({ buffer, snapshot }) => !buffer.equals(snapshot)).length;
  }
  text(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

export interface OpenOptions {
  /** @default 1 MiB */
  maxValueBytes?: number;
  /** @default 64 MiB (newCache's) */
  maxMemory?: number;
  /** @default 250 */
  maxKeyBytes?: number;
  flushes?: FlushScheduler;
  /** @default Date.now */
  now?: () => number;
  /** The listener's settings (input budget, input timeout…). @default none */
  limits?: ConnectionLimits;
}

/** A connection over a fresh cache, fed through a FakeSocket. */
export function open({
  maxValueBytes = 1024 * 1024,
  maxMemory,
  maxKeyBytes = 250,
  flushes,
  now = Date.now,
  limits,
}: OpenOptions = {}): { socket: FakeSocket; shared: ProtocolShared; conn: MemcachedConnection } {
  const cache = newCache(now, maxMemory);
  const shared: ProtocolShared = {
    store: new ProtocolStore(cache, now),
    counters: new MemcachedCounters(),
    cache,
    maxKeyBytes,
    maxValueBytes,
    maxConnections: 10,
    version: 'test',
    now,
    startedAt: performance.now(),
  };
  const socket = new FakeSocket();
  const conn = new MemcachedConnection(socket as unknown as Socket, shared, flushes, limits);
  // Like the listener's shared read buffer: each chunk is copied into one reused buffer, which is
  // poisoned after every call, so a connection that kept a view instead of a copy fails here.
  let scratch = Buffer.alloc(64 * 1024);
  socket.on('data', (chunk: Buffer) => {
    if (chunk.length > scratch.length) scratch = Buffer.alloc(chunk.length);
    chunk.copy(scratch);
    conn.receive(scratch.subarray(0, chunk.length));
    scratch.fill(0xee);
  });
  return { socket, shared, conn };
}
