// An incr that times out on a paused replica waits in that replica's socket and runs when it
// resumes — after a set made meanwhile, which reached the replica first (on a connection it had
// already accepted, where the incr's new one waited in the backlog). Stamped above what the
// replica held (`max(stamp, stored + 1)`), the incr would count on that newer set there alone:
// the replica would hold the set plus one, stamped above the set the primary holds, and read
// repair would spread it — the acknowledged set lost to an incr issued before it. An incr stamped
// at or below the write its count would start from was issued before that write and counts
// nothing there.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import type { BatchResult } from '../../src/wire.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/**
 * Rounds, each with its own key and clients: which of the replica's sockets it reads first at
 * SIGCONT is the kernel's and the event loop's choice, usually the accepted one, not always.
 */
const ROUNDS = 5;

/** A counter's value as a get result holds it (decimal text, maybe space-padded). */
function counterIn(result: BatchResult): string {
  expect(result[0]).toBe(200);
  return new TextDecoder().decode(result[1] as Uint8Array).trim();
}

describe('an incr delivered late', () => {
  it('does not count on a set made while its replica was paused', { timeout: 60_000 }, async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
    for (let round = 0; round < ROUNDS; round++) {
      const writer = fixture.keep(new DistributedCacheClient(urls, options));
      const key = keyWithPrimary(writer, urls[0]!, `late-incr-${round}:`);
      const [primary, replica] = writer.nodesFor(key) as [string, string];
      expect(await writer.set(key, 10)).toBe(true);

      // The replica paused: the incr (stamped now) counts on the primary and waits in the
      // replica's socket; a client made only now has no connection there yet: in the backlog.
      nemesis.pause(urls.indexOf(replica));
      const counter = fixture.keep(new DistributedCacheClient(urls, options));
      // It answers 11 (counted on the primary), or fails when a loaded primary is slow too: it
      // still counts there, before the set, which follows it in that node's socket.
      await counter.incr(key, 1).catch(() => undefined);
      // The newer set, stamped above the incr, on the writer's connection (accepted long ago).
      await writer.set(key, 20).catch(() => undefined);
      nemesis.resume(urls.indexOf(replica));
      await sleep(1000);

      // One outcome on both replicas: the set, under its own stamp.
      const onPrimary = await rawGet(primary, key);
      const onReplica = await rawGet(replica, key);
      expect(counterIn(onPrimary), `round ${round}: the primary`).toBe('20');
      expect(counterIn(onReplica), `round ${round}: the replica`).toBe('20');
      expect(onReplica[5], `round ${round}: the replica's stamp`).toBe(onPrimary[5]);

      // Counting on from there counts from the set on every replica.
      expect(await writer.incr(key, 1)).toBe(21);
      expect(counterIn(await rawGet(replica, key))).toBe('21');
      expect(await writer.get(key)).toBe(21);
      await Promise.all([writer.close(), counter.close()]);
    }
  });

  it('counts after a touch made while its replica was paused', { timeout: 60_000 }, async () => {
    // A touch is no write a count starts from: the incr, issued after the set and before the
    // touch, counted on the primary before the touch there; answered superseded on the replica
    // that took the touch first, it would leave 9 there beside the primary's 10, under one stamp
    // (which the tie between them keeps: "9" sorts after "10").
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
    for (let round = 0; round < ROUNDS; round++) {
      const writer = fixture.keep(new DistributedCacheClient(urls, options));
      const key = keyWithPrimary(writer, urls[0]!, `late-incr-touch-${round}:`);
      const [primary, replica] = writer.nodesFor(key) as [string, string];
      expect(await writer.set(key, 9)).toBe(true);

      nemesis.pause(urls.indexOf(replica));
      const counter = fixture.keep(new DistributedCacheClient(urls, options));
      await counter.incr(key, 1).catch(() => undefined);
      // The touch, stamped above the incr, on the writer's connection (accepted long ago).
      await writer.touch(key, 600_000).catch(() => undefined);
      nemesis.resume(urls.indexOf(replica));
      await sleep(1000);

      // The count on both replicas.
      expect(counterIn(await rawGet(primary, key)), `round ${round}: the primary`).toBe('10');
      expect(counterIn(await rawGet(replica, key)), `round ${round}: the replica`).toBe('10');
      await Promise.all([writer.close(), counter.close()]);
    }
  });
});
