// A call whose signal aborts while it waits for the first DNS lookup: it rejects at once, and
// nothing is sent (nor loaded) once the lookup finds the nodes — it was never issued.
import { createSocket } from 'node:dgram';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import { closeAllResponders, startResponder } from './dns-responder.js';

const HOST = 'dcache-0.abort.test';
const clients: DistributedCacheClient[] = [];
const proxies: (() => void)[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  for (const close of proxies.splice(0)) close();
  await closeAllResponders();
});
afterAll(stopCliNodes);

/** A UDP relay to `server` that holds every query `delayMs` first: a slow resolver. */
async function slowDns(server: string, delayMs: number): Promise<string> {
  const [host, port] = server.split(':');
  const socket = createSocket('udp4');
  socket.on('message', (query, from) => {
    const upstream = createSocket('udp4');
    upstream.on('message', (answer) => {
      socket.send(answer, from.port, from.address);
      upstream.close();
    });
    setTimeout(() => upstream.send(query, Number(port), host), delayMs);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  proxies.push(() => socket.close());
  return `127.0.0.1:${socket.address().port}`;
}

describe('a call aborted while the first DNS lookup runs', () => {
  it('sends nothing and loads nothing once the nodes are found', async () => {
    const node = await startCliNode('127.0.0.1');
    const dns = await startResponder({ hosts: { [HOST]: ['127.0.0.1'] } });
    const slow = await slowDns(dns.server, 300);
    const client = new DistributedCacheClient(`dns://${HOST}:${node.port}`, {
      discovery: { servers: [slow], timeoutMs: 5_000 },
    });
    clients.push(client);
    const signal = AbortSignal.timeout(30);
    let loads = 0;
    const set = client.set('written-after-abort', 'v', { signal });
    const loaded = client.getOrSet(
      'loaded-after-abort',
      () => {
        loads++;
        return 'loaded';
      },
      { signal },
    );
    await expect(set).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(loaded).rejects.toMatchObject({ name: 'TimeoutError' });
    await client.ready();
    // Whatever the aborted calls would have sent has had time to land.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(loads).toBe(0);
    expect(await node.holds(`written-after-abort`)).toBe(false);
    expect(await node.holds(`loaded-after-abort`)).toBe(false);
  });
});
