// A flush that reaches a paused node only at SIGCONT (its request timed out: FlushIncompleteError,
// "may still get the flush later and empty itself") must not refuse the writes made after it
// while the node was away: the node stamps the flush when it applies it, so the hint of a write
// made after the flush is refused as flushed, and the write is lost with the next fault.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient, isFlushIncompleteError } from '../../src/index.js';
import { keyWithPrimary } from '../key-with-primary.js';
import { heldOnNode } from './node-http.js';
import { SETTLE_MS } from './scenario.js';
import { useNemesis } from './use-nemesis.js';

const fixture = useNemesis();

describe('a flush delivered late to a paused node', () => {
  it('the node still takes, by hint, a write made after the flush', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const writer = fixture.keep(
      new DistributedCacheClient(urls, { failureThreshold: 1, timeout: 500 }),
    );
    const key = keyWithPrimary(writer, urls[0]!, 'after-flush:');
    const [, second] = writer.nodesFor(key);
    expect(await writer.set(key, 'v1')).toBe(true);
    nemesis.pause(0);
    const flushed = await writer.flush().catch((error: unknown) => error);
    expect(isFlushIncompleteError(flushed), String(flushed)).toBe(true);
    // Node 0 is marked down: the other replica and a stand-in take it, with hints for node 0.
    expect(await writer.set(key, 'v2')).toBe(true);
    await writer.close();
    nemesis.resume(0);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS + 1000));
    expect((await heldOnNode(urls[0]!, key)).status).toBe(200);
    // One fault at a time: node 0 is back and settled, then the other replica crashes.
    await nemesis.kill(urls.indexOf(second!));
    const reader = fixture.keep(new DistributedCacheClient(urls));
    expect(await reader.get(key)).toBe('v2');
  });
});
