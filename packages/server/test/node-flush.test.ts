import { LruCache } from '@dcache/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ProtocolStore } from '../../src/memcached/store.js';
import type { StoredValue } from '../../src/stored-value.js';

const DAY_MS = 24 * 3600 * 1000;

afterEach(() => {
  vi.useRealTimers();
});

describe('ProtocolStore: flush_all with a delay', () => {
  it('empties an idle node at a flush time past the 2^31-1 ms timer ceiling, not before', () => {
    vi.useFakeTimers();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.name);
    };
    process.on('warning', onWarning);
    try {
      const cache = new LruCache<StoredValue>({ maxItems: 10, now: () => Date.now() });
      const store = new ProtocolStore(cache, () => Date.now());
      cache.set('k', { bytes: new Uint8Array([1]), flags: 0 });
      store.flush(40 * DAY_MS);
      vi.advanceTimersByTime(25 * DAY_MS); // past the first timer step
      expect(cache.size).toBe(1);
      vi.advanceTimersByTime(15 * DAY_MS - 1);
      expect(cache.size).toBe(1);
      vi.advanceTimersByTime(1);
      expect(cache.size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      store.dispose();
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });
});
