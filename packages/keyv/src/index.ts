export { DcacheKeyvStore } from './dcache-keyv-store.js';
export type { DcacheKeyvStoreOpts } from './dcache-keyv-store.js';
export type { DcacheKeyvStoreOptions } from './options.js';
export { DcacheMemoryStore } from './memory-store.js';
