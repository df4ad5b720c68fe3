// A counter after a whole-cluster restart from snapshots (a deploy that restarts every node, or a
// rolling restart faster than the restores): every copy is unverified, written before its node's
// fence. incr with `initial` treats the key as absent, as add does, and creates it from the seed —
// a rate limiter works on at once — while get and an incr without `initial` miss, as designed.
// Nodes started through the CLI on 127.0.0.1, restarted on the same ports.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, unpack } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { restartCliNodeOnPort, startCliNode, stopCliNodes } from '../../server/test/cli-node.js';
import type { CliNode } from '../../server/test/cli-node.js';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import { listenOnLoopback } from './cluster.js';
import { rawGet } from './raw-node.js';

let dir: string;
const clients: DistributedCacheClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-incr-restart-'));
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

function connect(urls: readonly string[]): DistributedCacheClient {
  const client = new DistributedCacheClient([...urls], { timeout: 5000 });
  clients.push(client);
  return client;
}

/** A node with its own snapshot file, on `port` (0: ephemeral). */
function startNode(index: number, port = 0): Promise<CliNode> {
  const file = join(dir, `node-${index}.snapshot`);
  return startCliNode(['--port', String(port), '--snapshot-file', file, '--log-level', 'warn']);
}

/** Starts node `index` again on `port`, with its snapshot file. */
function restartNode(index: number, port: number): Promise<CliNode> {
  const file = join(dir, `node-${index}.snapshot`);
  return restartCliNodeOnPort(port, ['--snapshot-file', file, '--log-level', 'warn']);
}

describe('incr after every node restarted from its snapshot', () => {
  it('with initial creates the counter from it, counts on from there, and get reads it', async () => {
    let nodes = await Promise.all([0, 1, 2].map((i) => startNode(i)));
    const urls = nodes.map((node) => node.url);
    const ports = urls.map((url) => Number(new URL(url).port));
    const writer = connect(urls);
    const seed = { initial: 1, ttl: 60_000 };
    expect(await writer.incr('rate:user1', 1, seed)).toBe(1);
    expect(await writer.incr('rate:user1', 1, seed)).toBe(2);
    expect(await writer.incr('plain', 5, { initial: 5 })).toBe(5);
    const replicas = writer.nodesFor('rate:user1');
    await writer.close();

    // The whole cluster restarts: each node saves its snapshot at SIGTERM and loads it back.
    expect(await Promise.all(nodes.map((node) => node.stop('SIGTERM')))).toEqual([0, 0, 0]);
    nodes = await Promise.all(ports.map((port, i) => restartNode(i, port)));
    expect(nodes.map((node) => node.url)).toEqual(urls);
    // Every replica holds the count (2), unverified: no copy can vouch for another.
    for (const url of replicas) {
      const held = await rawGet(url, 'rate:user1');
      expect([held[0], held[6]], url).toEqual([200, true]);
    }

    const client = connect(urls);
    // When in doubt, miss: no replica can vouch for the count.
    expect(await client.get('rate:user1')).toBeUndefined();
    expect(await client.incr('plain', 1)).toBeUndefined();
    // The seeded incr sees the key as absent: created from the seed on every replica.
    expect(await client.incr('rate:user1', 1, seed)).toBe(1);
    expect(await client.incr('rate:user1', 1, seed)).toBe(2);
    expect(await client.get('rate:user1')).toBe(2);
    // Stamped above the unverified copies, on every replica, verified.
    for (const url of replicas) {
      const held = await rawGet(url, 'rate:user1');
      expect(held[0], url).toBe(200);
      expect(held[6], url).not.toBe(true);
      expect(Buffer.from(held[1] as Uint8Array).toString(), url).toBe('2');
    }
  });
});

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A stand-in node answering every operation of every batch with `result`. */
async function answeringEveryOp(result: unknown[]): Promise<string> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const ops = unpack(Buffer.concat(chunks)) as unknown[][];
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(pack(ops.map(() => result)));
    });
  });
  servers.push(server);
  return listenOnLoopback(server);
}

describe('incr that every replica answers without counting', () => {
  // Nodes answering every incr `[404]`, with `initial` too: nodes of an earlier release holding an
  // unverified count, over which their seeded incr creates nothing (a rolling upgrade).
  it('"not here", with initial too, is a miss, never "unreachable": the nodes are up', async () => {
    const urls = await Promise.all([answeringEveryOp([404]), answeringEveryOp([404])]);
    const client = new DistributedCacheClient(urls, { timeout: 5000, probeInterval: 60_000 });
    clients.push(client);
    expect(await client.incr('k', 1, { initial: 1 })).toBeUndefined();
    expect(await client.incr('k', 1)).toBeUndefined();
  });

  it('an answer no node gives names that answer, not "all marked down"', async () => {
    const urls = await Promise.all([answeringEveryOp([200, true]), answeringEveryOp([200, true])]);
    const client = new DistributedCacheClient(urls, { timeout: 5000, probeInterval: 60_000 });
    clients.push(client);
    const error: unknown = await client.incr('k', 1).catch((e: unknown) => e);
    expect(isCacheUnavailableError(error)).toBe(true);
    expect((error as Error).message).toMatch(/unexpected result \[200,true\] for key "k"/);
    expect((error as Error).message).not.toMatch(/all marked down/);
  });
});
