import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { deferred } from '../test/deferred.js';
import { abortable, INCR_OPTIONS, SET_OPTIONS, signalOption } from './abortable.js';

describe('abortable', () => {
  it('passes the outcome through and leaves no listener on the signal once settled', async () => {
    const controller = new AbortController();
    const ok = deferred<number>();
    const failing = deferred<number>();
    const calls = [
      abortable(controller.signal, () => ok.promise),
      abortable(controller.signal, () => failing.promise).catch((e: unknown) => e),
    ];
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    ok.resolve(7);
    const failure = new Error('node down');
    failing.reject(failure);
    expect(await Promise.all(calls)).toStrictEqual([7, failure]);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // Aborting afterwards reaches nobody and throws nothing.
    controller.abort();
  });

  it('rejects at once on abort; the work failing later is not an unhandled rejection', async () => {
    const controller = new AbortController();
    const work = deferred<number>();
    const call = abortable(controller.signal, () => work.promise);
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow('stop');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    // vitest fails the run on an unhandled rejection.
    work.reject(new Error('late failure'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('a call made after the abort of another on the same signal rejects without starting', async () => {
    const controller = new AbortController();
    const first = abortable(controller.signal, () => deferred<number>().promise);
    controller.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    let started = false;
    const second = abortable(controller.signal, () => {
      started = true;
      return Promise.resolve(1);
    });
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    expect(started).toBe(false);
  });
  it('a work that throws instead of rejecting rejects the call and leaves no listener', async () => {
    const controller = new AbortController();
    const call = abortable(controller.signal, () => {
      throw new TypeError('bad');
    });
    await expect(call).rejects.toThrow('bad');
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('signalOption', () => {
  it('takes an AbortSignal or nothing, and names anything else', () => {
    const { signal } = new AbortController();
    expect(signalOption(undefined)).toBeUndefined();
    expect(signalOption({ ttl: 5 }, SET_OPTIONS)).toBeUndefined();
    expect(signalOption({ initial: 1, ttl: 5 }, INCR_OPTIONS)).toBeUndefined();
    // memjs' { expires } or a misspelt ttl would otherwise store a value that never expires.
    expect(() => signalOption({ expires: 5 }, SET_OPTIONS)).toThrow(
      'unknown option "expires" (this call takes signal, ttl)',
    );
    expect(() => signalOption({ TTL: 5 }, SET_OPTIONS)).toThrow('unknown option "TTL"');
    expect(() => signalOption({ ttl: 5 })).toThrow('unknown option "ttl" (this call takes signal)');
    expect(signalOption({ signal })).toBe(signal);
    expect(() => signalOption({ signal: null })).toThrow(
      new TypeError('signal must be an AbortSignal, got null'),
    );
    expect(() => signalOption({ signal: 'abort' })).toThrow('got string');
    expect(() => signalOption(null)).toThrow('options must be an object like { signal }');
  });
});
