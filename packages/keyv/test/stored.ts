import type { DistributedCacheClient } from '@dcache/client';
import { generationKey, storedKey } from '../src/generations.js';

/** The key a Keyv key of `namespace` is stored under on the nodes now, to read it past the store. */
export async function keyOnTheNodes(
  client: DistributedCacheClient,
  namespace: string,
  key: string,
): Promise<string> {
  const token = await client.get<string>(generationKey(namespace));
  if (token === undefined) throw new Error(`namespace ${namespace} has no generation yet`);
  return storedKey(token, `${namespace}:${key}`);
}
