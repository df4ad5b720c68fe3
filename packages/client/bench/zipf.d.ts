/** Draws ranks 0 … n−1 (0 the hottest) with Zipf exponent `s`, from `random` (uniform in [0, 1)). */
export declare function zipf(n: number, s: number, random: () => number): () => number;
