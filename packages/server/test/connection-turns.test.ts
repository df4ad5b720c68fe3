import { describe, expect, it } from 'vitest';
import { ConnectionTurns, MAX_WAITING_REQUESTS } from '../src/http/connection-turns.js';

function connection() {
  return {
    destroyed: false,
    destroy() {
      this.destroyed = true;
    },
  };
}

function later(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

const unexpected = (error: unknown): never => {
  throw new Error(`no request was to fail: ${String(error)}`);
};

describe('ConnectionTurns', () => {
  it('serves requests answered at once at once, one after another', () => {
    const turns = new ConnectionTurns(unexpected);
    const socket = connection();
    const served: number[] = [];
    for (let i = 0; i < 5; i++) turns.take(socket, () => void served.push(i));
    expect(served).toEqual([0, 1, 2, 3, 4]);
  });

  it('holds what follows a request until it is done, then serves it in order', async () => {
    const turns = new ConnectionTurns(unexpected);
    const socket = connection();
    const other = connection();
    const served: string[] = [];
    const put = later();
    turns.take(socket, () => {
      served.push('put');
      return put.promise;
    });
    turns.take(socket, () => void served.push('delete'));
    turns.take(socket, () => void served.push('get'));
    // Another connection is not held up.
    turns.take(other, () => void served.push('elsewhere'));
    expect(served).toEqual(['put', 'elsewhere']);
    put.resolve();
    await settle();
    expect(served).toEqual(['put', 'elsewhere', 'delete', 'get']);
    // Free again: the next request is served at once.
    turns.take(socket, () => void served.push('next'));
    expect(served.at(-1)).toBe('next');
  });

  it('goes on after a request that failed, and after several asynchronous ones', async () => {
    const turns = new ConnectionTurns(unexpected);
    const socket = connection();
    const served: string[] = [];
    const first = later();
    const second = later();
    turns.take(socket, () => first.promise);
    turns.take(socket, () => {
      served.push('second');
      return second.promise;
    });
    turns.take(socket, () => void served.push('third'));
    first.reject(new Error('the handler failed'));
    await settle();
    expect(served).toEqual(['second']);
    second.resolve();
    await settle();
    expect(served).toEqual(['second', 'third']);
  });

  it(`cuts a connection with more than ${MAX_WAITING_REQUESTS} requests waiting`, () => {
    const turns = new ConnectionTurns(unexpected);
    const socket = connection();
    turns.take(socket, () => later().promise);
    for (let i = 0; i < MAX_WAITING_REQUESTS; i++) turns.take(socket, () => undefined);
    expect(socket.destroyed).toBe(false);
    turns.take(socket, () => undefined);
    expect(socket.destroyed).toBe(true);
  });

  it('a request whose serving throws (a bug) closes its connection, drops what waits, and is told', async () => {
    const failures: unknown[] = [];
    const turns = new ConnectionTurns((error) => failures.push(error));
    const socket = connection();
    const served: string[] = [];
    const first = later();
    turns.take(socket, () => first.promise);
    turns.take(socket, () => {
      throw new Error('bug');
    });
    turns.take(socket, () => void served.push('after the bug'));
    first.resolve();
    await settle();
    expect(failures).toEqual([new Error('bug')]);
    expect(socket.destroyed).toBe(true);
    expect(served).toEqual([]);
    // The connection's entry is gone: nothing is held for it.
    const other = connection();
    turns.take(other, () => void served.push('another connection'));
    expect(served).toEqual(['another connection']);
  });
});
