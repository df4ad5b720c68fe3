// The hint a write hands a stand-in names the stamp the write left there (write.ts stampLeft), so
// that the stand-in lets go of that copy only once the hint is delivered — never of a newer write
// it holds as a natural replica in another client's ring. With stub nodes: the key's primary
// missed the write, its other replica and a stand-in took it.
import { expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import type { NodeClient } from './node-client.js';
import { resolveOptions } from './options.js';
import { writeReplicas } from './write.js';
import type { KeyOp } from './write.js';
import { COUNT, EVERY, STORE } from './write-policy.js';
import type { WritePolicy } from './write-policy.js';
import type { BatchOp, BatchResult } from './wire.js';

// Nothing listens there; every node's `run` and `runInBackground` are replaced below.
const URLS = ['http://127.0.0.1:9', 'http://127.0.0.2:9', 'http://127.0.0.3:9'];
const KEY = 'k';
const STAMP = 500;
/** A newer write of the key than STAMP, held by the stand-in. */
const NEWER = 900;

it.each<[string, KeyOp, WritePolicy, BatchResult, number]>([
  // name, the write, its policy, the stand-in's answer, the stamp its hint names
  [
    'a set it took',
    ['set', KEY, new Uint8Array(1), 0, null, null, STAMP],
    STORE,
    [204, 1, STAMP],
    STAMP,
  ],
  [
    'a set it answered superseded: its own, not the newer write kept',
    ['set', KEY, new Uint8Array(1), 0, null, null, STAMP],
    STORE,
    [204, 1, NEWER, true],
    STAMP,
  ],
  ['a delete', ['delete', KEY, STAMP], EVERY, [204, STAMP], STAMP],
  ['a touch it took', ['touch', KEY, 5000, STAMP], EVERY, [204, STAMP], STAMP],
  [
    'a touch it answered superseded: its own, not the newer write kept',
    ['touch', KEY, 5000, STAMP],
    EVERY,
    [204, NEWER, true],
    STAMP,
  ],
  [
    'an incr, stamped by the node',
    ['incr', KEY, 1, 0, null, STAMP, true],
    COUNT,
    [200, 1, STAMP + 1],
    STAMP + 1,
  ],
  [
    'an incr it answered superseded: its own, not the newer write kept',
    ['incr', KEY, 1, 0, null, STAMP, true],
    COUNT,
    [200, 20, NEWER, true],
    STAMP,
  ],
])('%s', async (_name, op, policy, answer, named) => {
  const cluster = new Cluster(
    resolveOptions(URLS, { replicas: 2, failureThreshold: 1000, transition: { maxWindowMs: 0 } }),
  );
  const [primary, replica, standIn] = cluster.preference(KEY, 3) as [
    NodeClient,
    NodeClient,
    NodeClient,
  ];
  const hints: BatchOp[] = [];
  const answers = new Map<NodeClient, BatchResult>([
    [
      replica,
      op[0] === 'incr' ? [200, 1, STAMP + 1] : answer[0] === 204 ? [204, 1, STAMP] : answer,
    ],
    [standIn, answer],
  ]);
  for (const node of [primary, replica, standIn]) {
    const stub = node as { run: NodeClient['run']; runInBackground: NodeClient['runInBackground'] };
    stub.run = (): Promise<BatchResult> => {
      const given = answers.get(node);
      return given === undefined ? Promise.reject(new Error('down')) : Promise.resolve(given);
    };
    stub.runInBackground = (hint: BatchOp): Promise<BatchResult> => {
      if (node === standIn) hints.push(hint);
      return Promise.resolve([204]);
    };
  }
  // The primary marked down: the stand-in is asked in its place.
  const target = { natural: [primary, replica], live: [replica, standIn] };
  await writeReplicas(cluster, target, op, policy, true);
  // Once every background task ended: the hint's hand-off among them.
  await cluster.close();
  expect(hints).toStrictEqual([['hint', KEY, primary.url, true, named]]);
});
