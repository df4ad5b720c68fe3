// A compare-and-set whose primary is paused (SIGSTOP) when it is sent: the request times out and
// the next replica decides, but a version is its node's own, so the next replica refuses it. The
// paused primary still holds the request and applies it once it resumes (SIGCONT): the value the
// call was to store is then what reads serve. Answering `false` ("the version changed, nothing
// stored") would be wrong: a retry loop re-reads its own write and applies its update twice.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { isDcacheError } from '../../src/errors/dcache-error.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

for (const replicas of [2, 3]) {
  describe(`compareAndSet while its primary is paused (replicas ${replicas})`, () => {
    it('never answers false for a write its primary applies on resuming', async () => {
      const nemesis = await fixture.start({ nodes: 3 });
      const urls = nemesis.urls;
      const options = { replicas, timeout: 300, onBackgroundError: () => {} };
      const cache = fixture.keep(new DistributedCacheClient(urls, options));
      const key = keyWithPrimary(cache, urls[0]!, 'cas');
      // A JSON counter updated by read-modify-write.
      expect(await cache.set(key, { count: 0 })).toBe(true);
      const read = (await cache.getVersioned<{ count: number }>(key))!;

      nemesis.pause(0);
      const answer = await cache
        .compareAndSet(key, { count: read.value.count + 1 }, read.version)
        .catch((error: unknown) => error);
      nemesis.resume(0);
      await sleep(2000);

      const reader = fixture.keep(new DistributedCacheClient(urls, { replicas }));
      const now = await reader.get<{ count: number }>(key);
      if (answer === false) {
        // "Not stored": the caller would read again and count once more.
        expect(now, 'compareAndSet answered false, yet its value is served').toEqual({ count: 0 });
      } else if (answer !== true) {
        // Unknown outcome (the primary did not answer): a DcacheError, as a delete's.
        expect(isDcacheError(answer), String(answer)).toBe(true);
      }
    });
  });
}
