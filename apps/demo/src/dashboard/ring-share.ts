import { HashRing } from '@dcache/ring';

/**
 * Each node's share of the key space, estimated the way the client routes: a HashRing keyed by node
 * URL (the client's own ring, same defaults), asked for the owner of `samples` synthetic keys.
 * Sampling measures what the ring actually does, vnode placement included, rather than a formula.
 */
export function ringShare(nodeUrls: readonly string[], samples = 10_000): Map<string, number> {
  const ring = new HashRing(nodeUrls);
  const owned = new Map<string, number>(nodeUrls.map((url) => [url, 0]));
  for (let i = 0; i < samples; i++) {
    const owner = ring.get(`sample-key-${i}`);
    if (owner !== undefined) owned.set(owner, (owned.get(owner) ?? 0) + 1);
  }
  return new Map([...owned].map(([url, count]) => [url, count / samples]));
}
