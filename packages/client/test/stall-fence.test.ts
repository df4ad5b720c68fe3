// A node whose event loop stood still fences what it holds only when another node may have stood
// in for it meanwhile: the client tells each node, on every batch, how many nodes it spreads keys
// over (Dcache-Ring-Nodes). A client of one node alone leaves that node's cache warm.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { eventually } from './faults/node-http.js';
import { useNemesis } from './faults/use-nemesis.js';
import { nodeCounter, rawGet } from './raw-node.js';

const fixture = useNemesis();
/** Below the pause: the node notices it. */
const STALL_MS = 1000;
const PAUSE_MS = STALL_MS + 500;

const cases: [string, number, boolean][] = [
  ['a client of two nodes: the paused node fences what it held', 2, true],
  ['a client of one node alone: the node counts the stall and keeps serving', 1, false],
];

describe('a node paused longer than its stall threshold', () => {
  it.each(cases)('%s', async (_name, nodes, fenced) => {
    const nemesis = await fixture.start({ nodes, stallThresholdMs: STALL_MS });
    const url = nemesis.urls[0]!;
    const client = fixture.keep(new DistributedCacheClient(nemesis.urls, { timeout: 5000 }));
    let n = 0;
    while (client.nodesFor(`k:${n}`)[0] !== url) n++;
    const key = `k:${n}`;
    expect(await client.set(key, 'held')).toBe(true);

    nemesis.pause(0);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    nemesis.resume(0);
    expect(await eventually(async () => (await nodeCounter(url, 'stalls')) >= 1, 10_000)).toBe(
      true,
    );
    // A loaded machine can stall a node too: more stalls, and then more fences, may be counted.
    expect((await nodeCounter(url, 'fences')) > 0).toBe(fenced);
    // What the node holds: unverified (a 7th element, true) after a fence, served as is otherwise.
    const [status, , , , , , unverified] = await rawGet(url, key);
    expect(status).toBe(200);
    expect(unverified === true).toBe(fenced);
  });
});
