/**
 * A cheap, deterministic stream of numbers in [0, 1) (xorshift32): every contender of a benchmark
 * sees the same keys and the same get/set mix.
 */
export function xorshift(seed = 12345) {
  // Zero is xorshift's fixed point: the stream would be all zeros.
  if (!Number.isInteger(seed) || seed === 0)
    throw new RangeError('xorshift needs a non-zero integer seed');
  let state = seed;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}
