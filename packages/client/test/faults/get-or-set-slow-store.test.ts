// A getOrSet that misses while the key's store (the add of a load that just ran in this process)
// is under way waits for it rather than loading again — but only up to the client's `timeout`.
// Here the key moved to a joining node in an open transition window, and that node stalls
// (SIGSTOP; not yet marked down) as the load ends: its read times out there before the other
// replica misses, the add times out there too before the next replica takes it, and a read after
// the store would wait on the stalled node once more. Waiting all that costs the call two
// timeouts or more; loading again costs one load, and the add still loses to anything newer.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { waitFor } from '../cluster.js';
import { deferred } from '../deferred.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/** The clients' request timeout: the bound the second getOrSet is held to, with margin. */
const TIMEOUT_MS = 1000;
/** Rounds, each with its own client (a fresh failure detector) and key. */
const ROUNDS = 3;

describe('getOrSet while the key stalls on a node during its store', () => {
  it(
    'resolves within about one timeout, not after the store and another read',
    { timeout: 60_000 },
    async () => {
      const nemesis = await fixture.start({ nodes: 4 });
      const urls = nemesis.urls;
      const joining = urls[3]!;
      for (let round = 0; round < ROUNDS; round++) {
        const client = fixture.keep(
          new DistributedCacheClient(urls.slice(0, 3), {
            replicas: 2,
            timeout: TIMEOUT_MS,
            // The stalled node's failed add and reads are reported here; they are the fault.
            onBackgroundError: () => {},
            transition: { maxWindowMs: 60_000, quietMs: 60_000 },
          }),
        );
        client.addNode(joining);
        // The join's fence, landing after the add, would make the loaded copy one to check again.
        await waitFor(() => client.getReplicationStats().fencesSent >= 1, "the join's fence");
        const key = Array.from({ length: 1000 }, (_, i) => `slow-store-${round}:${i}`).find(
          (candidate) => client.nodesFor(candidate)[0] === joining,
        )!;
        expect(client.getTransitionStats().open).toBe(true);

        let loads = 0;
        const load = deferred<string>();
        const first = client.getOrSet(key, () => {
          loads++;
          return load.promise;
        });
        await waitFor(() => loads > 0, 'the load to start');
        nemesis.pause(3);
        try {
          load.resolve('first');
          expect(await first).toBe('first');

          const started = performance.now();
          const second = await client.getOrSet(key, () => {
            loads++;
            return 'second';
          });
          const elapsedMs = performance.now() - started;
          expect(['first', 'second'], `round ${round}: a loaded value`).toContain(second);
          // Its first read's timeout on the stalled node, then the load: the unbounded wait (the
          // store's timeout, then a second read's) took two.
          expect(
            elapsedMs,
            `round ${round}: the second getOrSet took ${Math.round(elapsedMs)} ms with timeout ${TIMEOUT_MS} ms`,
          ).toBeLessThan(1.5 * TIMEOUT_MS);
        } finally {
          nemesis.resume(3);
        }
        await client.close();
      }
    },
  );
});
