import type { DistributedCacheClient } from '../src/index.js';

/** A key (`<prefix><n>`) whose replicas, in `client`'s order, start with `primary`. */
export function keyWithPrimary(
  client: DistributedCacheClient,
  primary: string,
  prefix = 'key:',
): string {
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}${i}`;
    if (client.nodesFor(key)[0] === primary) return key;
  }
  throw new Error(`no key among 10000 has ${primary} as its primary`);
}
