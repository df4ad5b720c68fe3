import { describe, expect, it } from 'vitest';
import { deferred } from './test-deferred.js';
import { SingleFlight } from './single-flight.js';

describe('SingleFlight', () => {
  it('shares one running load of a key between callers; other keys load on their own', async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    let loads = 0;
    const load = (): Promise<string> => {
      loads++;
      return gate.promise;
    };
    const first = flights.run('a', load);
    const second = flights.run('a', load);
    const other = flights.run('b', () => Promise.resolve('b'));
    expect(loads).toBe(1);
    expect(flights.size).toBe(2);
    gate.resolve('a');
    expect(await Promise.all([first, second, other])).toStrictEqual(['a', 'a', 'b']);
    expect(flights.size).toBe(0);
  });

  it('forgets a load once it settles, so the next call loads afresh, also after a rejection', async () => {
    const flights = new SingleFlight();
    const failure = new Error('source down');
    const both = [
      flights.run('k', () => Promise.reject(failure)),
      flights.run('k', () => Promise.resolve('x')),
    ];
    for (const outcome of await Promise.allSettled(both)) {
      expect(outcome).toStrictEqual({ status: 'rejected', reason: failure });
    }
    expect(await flights.run('k', () => Promise.resolve('fresh'))).toBe('fresh');
  });

  it('a load invalidated while running is told so, and later callers start a fresh one', async () => {
    const flights = new SingleFlight();
    const gate = deferred<void>();
    let staleSeen: boolean | undefined;
    const old = flights.run('k', async (isStale) => {
      await gate.promise;
      staleSeen = isStale();
      return 'old';
    });
    const joined = flights.run('k', () => Promise.resolve('never'));
    flights.invalidate('k');
    flights.invalidate('other'); // no load of that key: nothing to do
    const fresh = flights.run('k', (isStale) => Promise.resolve(isStale() ? 'stale' : 'fresh'));
    // A caller after the fresh one joins the fresh one, even once the stale one settles.
    gate.resolve();
    expect(await old).toBe('old');
    expect(await joined).toBe('old');
    expect(staleSeen).toBe(true);
    expect(await fresh).toBe('fresh');
  });

  it('the stale load settling does not forget the fresh load that replaced it', async () => {
    const flights = new SingleFlight();
    const oldGate = deferred<string>();
    const freshGate = deferred<string>();
    const old = flights.run('k', () => oldGate.promise);
    flights.invalidateAll();
    const fresh = flights.run('k', () => freshGate.promise);
    oldGate.resolve('old');
    await old;
    let loads = 0;
    const joined = flights.run('k', () => {
      loads++;
      return Promise.resolve('third');
    });
    expect(loads).toBe(0);
    freshGate.resolve('fresh');
    expect(await Promise.all([fresh, joined])).toStrictEqual(['fresh', 'fresh']);
  });
});
