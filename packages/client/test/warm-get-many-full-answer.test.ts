// getMany in a transition window (after addNode) of keys whose previous owner holds a newer copy
// than their new owner: the newest is served, also when the previous owner's answers to those
// reads fill its batch answer (its maxBatchBytes) and some come back 413.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { NEWER_BYTES, plantOlderAndNewer } from './raw-node.js';

const fixture = useNemesis();

describe('getMany in a transition window', () => {
  it("serves the previous owner's newer copies, though its answer holds only some of them per batch", async () => {
    // 16 KiB of values per batch answer: three of the previous owner's 5,000-byte values.
    const nemesis = await fixture.start({ nodes: 4, args: ['--max-batch-bytes', '16kb'] });
    const [a, b, c, d] = nemesis.urls as [string, string, string, string];
    const client = fixture.keep(
      new DistributedCacheClient([a, b, c], {
        replicas: 1,
        maxBatchBytes: 12_000,
        transition: { maxWindowMs: 60_000, quietMs: 60_000 },
      }),
    );
    const candidates = Array.from({ length: 2000 }, (_, i) => `wgm:${i}`);
    const before = new Map(candidates.map((key) => [key, client.nodesFor(key)[0]!]));
    client.addNode(d);
    // Six keys that moved to the new node from one previous owner.
    const moved = candidates.filter((key) => client.nodesFor(key)[0] === d);
    const from = before.get(moved[0]!)!;
    const keys = moved.filter((key) => before.get(key) === from).slice(0, 6);
    expect(keys).toHaveLength(6);
    // The new owner holds an old small copy; the previous owner a newer, bigger one (written by
    // a client still on the old ring).
    await plantOlderAndNewer(d, from, keys);

    const found = await client.getMany<Uint8Array>(keys);
    expect([...found.keys()]).toStrictEqual(keys);
    const sizes = [...found.values()].map((value) => value.length);
    expect(sizes, 'the newer copies').toStrictEqual(keys.map(() => NEWER_BYTES));
  });
});
