import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { stampAt, writeFingerprint } from '@dcache/core';
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

/** The one write every fake node below holds of each key: its bytes and flags. */
const HELD_BYTES = new Uint8Array([0xa1, 0x76]);
const HELD_FLAGS = 256;

/**
 * A node holding one write of every key under its own `version`, whose first get of each key is
 * refused for a full batch answer (413 `too_large`, as a node whose answer already carries
 * `--max-batch-bytes` of values answers the gets after the first): asked again, it answers. A
 * compare-and-set succeeds only with that write's fingerprint and only once a get of the key was
 * answered (before that it answers as a node that lost the key). `opsSeen` gets every operation.
 */
async function fullOnceNode(
  version: number,
  stamp: number,
  opsSeen: unknown[][] = [],
  createsCounters = true,
): Promise<string> {
  const refused = new Set<string>();
  const answered = new Set<string>();
  const held = -(writeFingerprint(stamp, HELD_FLAGS, HELD_BYTES) + 1);
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
          answered.add(key);
          return [200, HELD_BYTES, HELD_FLAGS, version, null, stamp];
        }
        if (op[0] === 'set') {
          return op[5] === held && answered.has(key) ? [204, version + 10, stamp + 1] : [412];
        }
        return [204];
      });
      res.writeHead(200, { 'content-type': 'application/msgpack' });
      res.end(pack(results));
    });
  });
  servers.push(server);
  return listenOnLoopback(server);
}

it('a compare-and-set its primary refused reads the key past a full batch answer before deciding again', async () => {
  const stamp = stampAt(Date.now());
  const urls = [await fullOnceNode(101, stamp), await fullOnceNode(202, stamp)];
  const client = new DistributedCacheClient(urls, { replicas: 2, timeout: 10_000 });
  try {
    // The primary refuses it (it answers as a node that lost the key until it is read); the read
    // that follows finds the very write named — once the primary's get, refused for a full
    // answer, is asked again — so the call is decided again, and passes.
    const version = writeFingerprint(stamp, HELD_FLAGS, HELD_BYTES);
    expect(await client.compareAndSet('k', 'w', version)).toBe(true);
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
