// Deterministic inputs for the benchmark: node ids shaped like dcache's (http://host:port) and
// cache-like keys, drawn from a seeded PRNG so every run measures the same sets.

/** mulberry32: a tiny seeded PRNG; quality is ample for picking names. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (random, n) => Math.floor(random() * n);

/** `count` distinct URL-like node ids such as `http://10.3.17.201:8042`. */
export function nodeNames(random, count) {
  const names = new Set();
  while (names.size < count) {
    names.add(
      `http://10.${int(random, 256)}.${int(random, 256)}.${int(random, 256)}:${8000 + int(random, 1000)}`,
    );
  }
  return [...names];
}

/** `count` ASCII keys shaped like cache keys (`user:48213:session:7f3a`). */
export function cacheKeys(random, count) {
  const kinds = ['user', 'session', 'page', 'cart', 'feed'];
  const keys = new Array(count);
  for (let i = 0; i < count; i++) {
    keys[i] =
      `${kinds[int(random, kinds.length)]}:${int(random, 1e9)}:${int(random, 0x10000).toString(16)}`;
  }
  return keys;
}
