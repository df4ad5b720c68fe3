export { HashRing } from './hash-ring.js';
export { murmur3, murmur3Bytes } from './murmur3.js';
export { DEFAULT_VNODES, MAX_POINTS_PER_NODE } from './options.js';
export type { HashRingOptions, RingHash } from './options.js';
