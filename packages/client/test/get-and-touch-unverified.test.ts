// Get-and-touch of a key whose primary cannot vouch for its copy (fenced: a snapshot restore, a
// stall, a hint that could not be delivered): the new TTL must hold on every replica.
import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { keyWithPrimary } from './key-with-primary.js';
import { rawGet } from './raw-node.js';

const fixture = useNemesis();

async function fence(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/fence`, {
    method: 'POST',
    signal: AbortSignal.timeout(5000),
  });
  expect(response.status).toBeLessThan(300);
}

describe('get-and-touch of an unverified entry', () => {
  it('the primary that held it unverified gets the new TTL too: the key expires everywhere', async () => {
    const nemesis = await fixture.start({ nodes: 3 });
    const urls = nemesis.urls;
    const client = fixture.keep(new DistributedCacheClient(urls));
    const key = keyWithPrimary(client, urls[0]!, 'gat:');
    expect(await client.set(key, 'v')).toBe(true);
    await fence(urls[0]!);
    expect((await rawGet(urls[0]!, key))[6], 'unverified').toBe(true);

    expect(await client.getAndTouch(key, 300)).toBe('v');
    await client.close();
    const held = await rawGet(urls[0]!, key);
    expect(held[0]).toBe(200);
    expect(held[4], 'the primary keeps the new TTL').toBeTypeOf('number');
    expect(held[4] as number).toBeLessThanOrEqual(300);

    await new Promise((resolve) => setTimeout(resolve, 600));
    const reader = fixture.keep(new DistributedCacheClient(urls));
    expect(await reader.get(key), 'expired by the get-and-touch').toBeUndefined();
  });
});
