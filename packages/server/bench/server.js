// One benchmark target in its own process, so the load generator never shares its event loop.
// Usage: node bench/server.js hello|dcache — prints {"port":N} once listening; SIGTERM stops it.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createInterface } from 'node:readline';

const kind = process.argv[2];
const VALUE = new Uint8Array(100).fill(120); // 100-byte values throughout

async function start() {
  if (kind === 'hello') {
    // The ceiling: a bare hono hello-world on the same adapter the node uses.
    const app = new Hono();
    app.get('/', (c) => c.text('Hello World!'));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    return server.address().port;
  }
  if (kind === 'dcache') {
    const { CacheServer } = await import('../dist/index.js');
    const node = new CacheServer({ maxMemory: '256mb', logLevel: 'silent' });
    node.cache.set('k', { bytes: VALUE, flags: 0 });
    for (let i = 0; i < 100; i++) node.cache.set(`b${i}`, { bytes: VALUE, flags: 0 });
    return (await node.listen({ host: '127.0.0.1', port: 0 })).port;
  }
  throw new Error(`unknown target ${kind}`);
}

const port = await start();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => process.exit(0));
// "cpu" on stdin → this process's CPU time so far, in µs: a load-independent cost per request.
createInterface({ input: process.stdin }).on('line', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpu: user + system })}\n`);
});
