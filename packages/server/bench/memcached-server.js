// A dcache node serving only the memcached protocol, for bench/memcached.js. Prints "PORT <n>".
// Runs from the built package (dist/), like a deployed node.
import { LruCache } from '@dcache/core';
import { createMemcachedListener } from '../dist/memcached/index.js';

const cache = new LruCache({
  maxMemory: 1024 * 1024 * 1024,
  sizeOf: (value) => value.bytes.length + 16,
});
const listener = createMemcachedListener({ cache, maxConnections: 4096, version: 'dcache' });
const { port } = await listener.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${port}\n`);

const stop = async () => {
  await listener.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
