// Types for names.js, so the tests can draw the very node names the benchmark measures.

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
export function prng(seed: number): () => number;
/** `count` distinct URL-like node ids such as `http://10.3.17.201:8042`. */
export function nodeNames(random: () => number, count: number): string[];
/** `count` ASCII keys shaped like cache keys (`user:48213:session:7f3a`). */
export function cacheKeys(random: () => number, count: number): string[];
