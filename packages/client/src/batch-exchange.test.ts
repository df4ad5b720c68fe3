import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, expect, it } from 'vitest';
import { exchange, newWire } from './batch-exchange.js';
import type { RawRequest, Wire } from './batch-exchange.js';
import type { Socket } from 'node:net';

/**
 * A timeout tells the caller whether its request went out: one that waited for a connection while
 * others to the same node were on the wire timed out because of this client's own load, which the
 * failure detector must not count against the node (node-client.ts).
 */

let server: Server | undefined;
let agent: Agent | undefined;
afterEach(async () => {
  await agent?.destroy();
  agent = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
  }
});

/** A server that reads every request and never answers. */
async function silentServer(): Promise<string> {
  server = createServer((req: IncomingMessage, _res: ServerResponse) => req.resume());
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function request(origin: string, wire: Wire, timeout: number): RawRequest {
  return {
    origin,
    path: '/v1/batch',
    method: 'POST',
    headers: { 'content-type': 'application/msgpack' },
    body: new Uint8Array([0x90]),
    timeout,
    wire,
    timedOut: (waitedForConnection) =>
      Object.assign(new Error('timed out'), { waitedForConnection }),
  };
}

it('a request on the wire that gets no answer times out as not waiting; one queued behind it as waiting', async () => {
  const origin = await silentServer();
  agent = new Agent({ connections: 1 });
  const wire = newWire(1);
  const onWire = exchange(() => agent!, request(origin, wire, 1500));
  const queued = exchange(() => agent!, request(origin, wire, 200));
  await expect(queued).rejects.toMatchObject({ waitedForConnection: true });
  expect(wire.active).toBe(1);
  await expect(onWire).rejects.toMatchObject({ waitedForConnection: false });
  expect(wire.active).toBe(0);
});

it('a request alone that gets no answer is not counted as waiting', async () => {
  const origin = await silentServer();
  agent = new Agent({ connections: 1 });
  const wire = newWire(1);
  await expect(exchange(() => agent!, request(origin, wire, 200))).rejects.toMatchObject({
    waitedForConnection: false,
  });
  expect(wire.active).toBe(0);
});

it('a request that timed out waiting for a connection leaves without costing one', async () => {
  // Answers each request 300 ms after it is read, and counts the connections made to it.
  let connections = 0;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end(), 300));
  });
  server.on('connection', (_socket: Socket) => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ connections: 1 });
  const wire = newWire(1);
  const first = exchange(() => agent!, request(origin, wire, 5000));
  const stale = exchange(() => agent!, request(origin, wire, 100));
  await expect(stale).rejects.toMatchObject({ waitedForConnection: true });
  await expect(first).resolves.toMatchObject({ status: 200 });
  // The next request goes out on the connection the first one used: the stale one, never sent,
  // did not take that connection down with it.
  await expect(exchange(() => agent!, request(origin, wire, 5000))).resolves.toMatchObject({
    status: 200,
  });
  expect(connections).toBe(1);
  expect(wire).toMatchObject({ active: 0, dispatched: 0 });
  expect(wire.waiting.size).toBe(0);
});
