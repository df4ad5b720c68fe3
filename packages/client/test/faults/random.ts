/**
 * A seeded pseudo-random source (mulberry32): the same seed gives the same workload and fault
 * schedule, so a failing randomized run is replayed from the seed it printed.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for a run that was not given one: printed by the caller, so it can be given next time. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
