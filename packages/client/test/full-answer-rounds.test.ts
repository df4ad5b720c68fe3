import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { stampAt } from '@dcache/core';
import { pack, unpack } from 'msgpackr';
import { afterEach, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import { listenOnLoopback } from './cluster.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/**
 * A node holding one write of every key under its own `version`, whose first get of each key is
 * refused for a full batch answer (413 `too_large`, as a node whose answer already carries
 * `--max-batch-bytes` of values answers the gets after the first): asked again, it answers. A
 * compare-and-set succeeds against its own version only. `opsSeen` gets every operation it is sent.
 */
async function fullOnceNode(
  version: number,
  stamp: number,
  opsSeen: unknown[][] = [],
  createsCounters = true,
): Promise<string> {
  const refused = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const ops = unpack(Buffer.concat(chunks)) as unknown[][];
      opsSeen.push(...ops);
      const results = ops.map((op) => {
        const key = op[1] as string;
        // Holds no counter; the seeded incr creates one here only if it `createsCounters`.
        if (op[0] === 'incr') return op[3] !== null && createsCounters ? [200, op[3]] : [404];
        if (op[0] === 'get') {
          if (!refused.has(key)) {
            refused.add(key);
            return [413, 'too_large', 'the batch answer is full'];
          }
          return [200, new Uint8Array([0xa1, 0x76]), 256, version, null, stamp];
        }
        if (op[0] === 'set') return op[5] === version ? [204, version + 10] : [412];
        return [204];
      });
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(pack(results));
    });
  });
  servers.push(server);
  return listenOnLoopback(server);
}

it("a compare-and-set given another replica's version reads past a full batch answer before giving up", async () => {
  const stamp = stampAt(Date.now());
  const urls = [await fullOnceNode(101, stamp), await fullOnceNode(202, stamp)];
  const client = new DistributedCacheClient(urls, { replicas: 2, timeout: 10_000 });
  try {
    const [, replica] = client.nodesFor('k');
    const replicaVersion = replica === urls[0] ? 101 : 202;
    // The primary refuses the replica's version; both hold the same write, so the call is decided
    // again with the primary's own — once the primary's get, refused for a full answer, is asked again.
    expect(await client.compareAndSet('k', 'w', replicaVersion)).toBe(true);
  } finally {
    await client.close();
  }
});

it('a counter created on one replica is copied to the one that refused the seed, past a full batch answer', async () => {
  const stamp = stampAt(Date.now());
  const refuserOps: unknown[][] = [];
  const urls = [await fullOnceNode(101, stamp), await fullOnceNode(202, stamp, refuserOps, false)];
  const client = new DistributedCacheClient(urls, { replicas: 2, timeout: 10_000 });
  try {
    expect(await client.incr('hits', 1, { initial: 5 })).toBe(5);
  } finally {
    await client.close();
  }
  // The creator's value was read (its get asked again after the full answer) and handed on.
  expect(refuserOps.filter((op) => op[0] === 'copy' && op[1] === 'hits')).toHaveLength(1);
});
