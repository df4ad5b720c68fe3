// A touch that times out on a paused replica waits in that replica's socket and runs when it
// resumes — after a write made meanwhile, which reached the replica first (on a connection it had
// already accepted, where the touch's new one waited in the backlog). Stamped above what the
// replica held (`max(stamp, stored + 1)`), the touch would restamp that newer write there and give
// it the touch's TTL, while the other replica, touched before the write, holds the write under its
// own stamp and TTL: the replicas would disagree on the stamp (a compareAndSet's version) and the
// touch's short TTL would expire the write early on one of them. A touch stamped at or below the
// write it finds was issued before that write and changes nothing.
import { setTimeout as sleep } from 'node:timers/promises';
import { unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { rawGet } from '../raw-node.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

/** The touch's TTL: short, so the write would expire early wherever the touch landed on it. */
const TOUCH_TTL_MS = 1500;
const WRITE_TTL_MS = 60_000;
/**
 * Rounds, each with its own key and clients: which of the replica's sockets it reads first at
 * SIGCONT is the kernel's and the event loop's choice, usually the accepted one, not always.
 */
const ROUNDS = 3;

describe('a touch delivered late', () => {
  it(
    'does not restamp or shorten a write made while its replica was paused',
    { timeout: 60_000 },
    async () => {
      const nemesis = await fixture.start({ nodes: 3 });
      const urls = nemesis.urls;
      const options = { replicas: 2, timeout: 300, onBackgroundError: () => {} };
      for (let round = 0; round < ROUNDS; round++) {
        const writer = fixture.keep(new DistributedCacheClient(urls, options));
        const key = keyWithPrimary(writer, urls[0]!, `late-touch-${round}:`);
        const [primary, replica] = writer.nodesFor(key) as [string, string];
        expect(await writer.set(key, 'v1', { ttl: WRITE_TTL_MS })).toBe(true);

        // The replica paused: the touch (stamped now) lands on the primary and waits in the
        // replica's socket; a client made only now has no connection there yet: in the backlog.
        nemesis.pause(urls.indexOf(replica));
        const toucher = fixture.keep(new DistributedCacheClient(urls, options));
        await toucher.touch(key, TOUCH_TTL_MS).catch(() => undefined);
        // The newer write, stamped above the touch, on the writer's connection (accepted long ago).
        await writer.set(key, 'v2', { ttl: WRITE_TTL_MS }).catch(() => undefined);
        nemesis.resume(urls.indexOf(replica));
        await sleep(1000);

        // One outcome on both replicas: the write, under its own stamp and TTL.
        const onPrimary = await rawGet(primary, key);
        const onReplica = await rawGet(replica, key);
        expect(onPrimary[0]).toBe(200);
        expect(unpack(onPrimary[1] as Uint8Array)).toBe('v2');
        expect(onReplica[0]).toBe(200);
        expect(unpack(onReplica[1] as Uint8Array)).toBe('v2');
        expect(onReplica[5], `round ${round}: the replica's stamp`).toBe(onPrimary[5]);
        expect(onReplica[4], `round ${round}: the replica's TTL`).toBeGreaterThan(
          TOUCH_TTL_MS * 10,
        );

        // Past the touch's TTL the write is still on the replica: the touch did not expire it early.
        await sleep(TOUCH_TTL_MS);
        expect((await rawGet(replica, key))[0]).toBe(200);
        expect(await writer.get(key)).toBe('v2');
        await Promise.all([writer.close(), toucher.close()]);
      }
    },
  );
});
