import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNodeRequestError } from '../src/index.js';
import { connect, startCluster } from './cluster.js';
import type { TestCluster } from './cluster.js';

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startCluster(3, { token: 's3cret-token' });
});
afterAll(() => cluster.close());

describe('auth', () => {
  it('with the right token every operation works', async () => {
    const client = connect(cluster.urls, { token: 's3cret-token' });
    expect(await client.set('auth', { ok: true })).toBe(true);
    expect(await client.get('auth')).toStrictEqual({ ok: true });
    expect((await client.getStats()).nodes.every((node) => node.stats !== undefined)).toBe(true);
    await client.close();
  });

  it.each([
    ['no token', undefined],
    ['a wrong token', 'wrong'],
  ])(
    'with %s the node’s 401 is the error, and the nodes are not marked down',
    async (_name, token) => {
      const client = connect(cluster.urls, { token, failureThreshold: 1 });
      const attempts = [
        () => client.set('auth', 1),
        () => client.get('auth'),
        // The bulk calls leave out keys with no replica reachable; a refusal is not that, and
        // must not read as misses (an empty Map) or as "not stored".
        () => client.getMany(['auth', 'other']),
        () => client.setMany([['auth', 1]]),
        () => client.deleteMany(['auth']),
      ];
      for (const attempt of attempts) {
        const error: unknown = await attempt().catch((e: unknown) => e);
        expect(isNodeRequestError(error)).toBe(true);
        expect(error).toMatchObject({ status: 401 });
      }
      const stats = await client.getStats();
      expect(stats.up).toBe(3);
      expect(stats.nodes.every((node) => isNodeRequestError(node.error))).toBe(true);
      await client.close();
    },
  );
});
