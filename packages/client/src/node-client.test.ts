import { afterEach, expect, it } from 'vitest';
import { NodeTimeoutError } from './errors/node-timeout-error.js';
import { BACKGROUND_TIMEOUT_MIN, NodeClient } from './node-client.js';
import type { Transport } from './transport.js';
import type { BatchOp, BatchResult } from './wire.js';

const URL = 'http://127.0.0.1:1';
const clients: NodeClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.health.close();
});

/** A node over a stand-in `batch` transport, closed after the test. */
function nodeOver(
  batch: (node: string, ops: readonly BatchOp[], timeout: number) => Promise<BatchResult[]>,
  options: { timeout: number; maxBatchesInFlight: number },
): NodeClient {
  const transport = { batch, healthy: () => Promise.resolve(true) } as unknown as Transport;
  const client = new NodeClient(URL, {
    transport,
    ...options,
    maxBatchSize: 1000,
    maxBatchBytes: 1 << 20,
    failureThreshold: 3,
    probeInterval: 60_000,
  });
  clients.push(client);
  return client;
}

/** A node whose every request fails with `error`. */
function failingNode(error: Error): NodeClient {
  return nodeOver(() => Promise.reject(error), { timeout: 100, maxBatchesInFlight: 1 });
}

it('timeouts of requests that only waited for a busy connection do not mark the node down', async () => {
  const waited = new NodeTimeoutError(URL, 100, { waitedForConnection: true });
  expect(waited.message).toMatch(/not sent within 100 ms: every connection to the node was busy/);
  const node = failingNode(waited);
  for (let i = 0; i < 10; i++) await expect(node.send([['get', 'k']])).rejects.toBe(waited);
  expect(node.health.up).toBe(true);
  expect(node.health.consecutiveFailures).toBe(0);
});

it('timeouts of requests that went out do', async () => {
  const unanswered = new NodeTimeoutError(URL, 100);
  expect(unanswered.waitedForConnection).toBe(false);
  const node = failingNode(unanswered);
  for (let i = 0; i < 3; i++) await expect(node.send([['get', 'k']])).rejects.toBe(unanswered);
  expect(node.health.up).toBe(false);
});

it('runs background work in batches of its own, with at least BACKGROUND_TIMEOUT_MIN ms', async () => {
  const sent: { ops: readonly BatchOp[]; timeout: number }[] = [];
  const batch = (_node: string, ops: readonly BatchOp[], timeout: number) => {
    sent.push({ ops, timeout });
    return Promise.resolve(ops.map((): BatchResult => [204]));
  };
  const node = nodeOver(batch, { timeout: 15, maxBatchesInFlight: 1 });
  // Enqueued in the same tick: one lane would carry both in one batch, with the caller's 15 ms.
  const answers = await Promise.all([
    node.run(['delete', 'k', 1], true),
    node.runInBackground(['hint', 'k', 'http://127.0.0.1:2', false]),
  ]);
  expect(answers).toEqual([[204], [204]]);
  expect(sent.map(({ ops }) => ops.map((op) => op[0]))).toEqual([['delete'], ['hint']]);
  expect(sent[0]!.timeout).toBeLessThanOrEqual(15);
  expect(sent[1]!.timeout).toBeGreaterThan(BACKGROUND_TIMEOUT_MIN - 15);
  expect(node.batchingStats()).toMatchObject({ batches: 2, operations: 2 });
});

it('keeps one background batch on the wire at a time: what comes meanwhile waits for it', async () => {
  const answers: (() => void)[] = [];
  const sent: number[] = [];
  const batch = (_node: string, ops: readonly BatchOp[]) => {
    sent.push(ops.length);
    return new Promise<BatchResult[]>((resolve) =>
      answers.push(() => resolve(ops.map((): BatchResult => [204]))),
    );
  };
  const node = nodeOver(batch, { timeout: 1000, maxBatchesInFlight: 8 });
  const hint = (key: string): BatchOp => ['hint', key, 'http://127.0.0.1:2', false];
  const first = node.runInBackground(hint('a'));
  await new Promise((resolve) => setImmediate(resolve));
  const later = ['b', 'c', 'd'].map((key) => node.runInBackground(hint(key)));
  await new Promise((resolve) => setImmediate(resolve));
  expect(sent).toEqual([1]);
  answers.shift()!();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  expect(sent).toEqual([1, 3]);
  answers.shift()!();
  await Promise.all(later);
});
