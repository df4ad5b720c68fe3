export { createMemcachedListener } from './listener.js';
export type { MemcachedAddress, MemcachedListener } from './listener.js';
export type { MemcachedListenerOptions } from './options.js';
export type { MemcachedStats } from './counters.js';
export type { MemcachedCache } from './store.js';
