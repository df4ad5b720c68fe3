/**
 * A cheap, deterministic stream of numbers in [0, 1) (xorshift32): every contender of a benchmark
 * sees the same keys and the same get/set mix.
 */
export function xorshift(seed = 12345) {
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}
