// Test helper: one node's own view of keys, over `POST /v1/batch` straight (no client routing,
// verification or repair), to check what each replica holds.
import { stampAt } from '@dcache/core';
import { decodeBatch, encodeBatch } from '../src/wire.js';
import type { BatchOp, BatchResult } from '../src/wire.js';
import { waitFor } from './cluster.js';

export async function rawBatch(url: string, ops: readonly BatchOp[]): Promise<BatchResult[]> {
  const response = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
    body: encodeBatch(ops),
    signal: AbortSignal.timeout(5000),
  });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  const results = decodeBatch(new Uint8Array(await response.arrayBuffer()), ops.length);
  if (results === undefined) throw new Error(`${url}: malformed batch answer`);
  return results;
}

/** What `url` holds for each key: its get result (`[200, bytes, flags, version, ttl, stamp, unverified?]` or `[404, …]`). */
export async function rawGets(url: string, keys: readonly string[]): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for (let i = 0; i < keys.length; i += 500) {
    const chunk = keys.slice(i, i + 500);
    results.push(
      ...(await rawBatch(
        url,
        chunk.map((key) => ['get', key] as const),
      )),
    );
  }
  return results;
}

/** What `url` holds for one key (its get result). */
export async function rawGet(url: string, key: string): Promise<BatchResult> {
  const [result] = await rawBatch(url, [['get', key]]);
  return result!;
}

/** The keys of `keys` that `url` holds as a verified value. */
export async function heldVerified(url: string, keys: readonly string[]): Promise<Set<string>> {
  const results = await rawGets(url, keys);
  const held = new Set<string>();
  results.forEach((result, i) => {
    if (result[0] === 200 && result[6] !== true) held.add(keys[i]!);
  });
  return held;
}

/** A node's `/v1/stats` counter (0 when it has no such field). */
export async function nodeCounter(url: string, name: string): Promise<number> {
  const response = await fetch(`${url}/v1/stats`, { signal: AbortSignal.timeout(5000) });
  const stats = (await response.json()) as Record<string, unknown>;
  const value = stats[name];
  return typeof value === 'number' ? value : 0;
}

/** Polls until every key of `keys` is held, verified, by `url` (≤ `timeoutMs`). */
export async function waitUntilHeld(
  url: string,
  keys: readonly string[],
  what: string,
  timeoutMs = 5000,
): Promise<void> {
  let missing = keys.length;
  await waitFor(
    async () => {
      const held = await heldVerified(url, keys);
      missing = keys.length - held.size;
      return missing === 0;
    },
    `${what} (still missing ${missing} of ${keys.length})`,
    { timeoutMs, intervalMs: 100 },
  );
}

/** The size of the newer copies {@link plantOlderAndNewer} writes. */
export const NEWER_BYTES = 5000;

/**
 * Each of `keys` as an older 10-byte copy on `older` and a newer 5,000-byte one on `newer`
 * (stamped a second apart, just before now): several of the newer fill a 16 KiB batch answer.
 */
export async function plantOlderAndNewer(
  older: string,
  newer: string,
  keys: readonly string[],
): Promise<void> {
  const now = stampAt(Date.now());
  const small = new Uint8Array(10).fill(1);
  const big = new Uint8Array(NEWER_BYTES).fill(2);
  await rawBatch(
    older,
    keys.map((key) => ['copy', key, small, 0, 0, now - 2048, 'repair'] as const),
  );
  // One copy per batch: a batch body is limited to 16 KiB too.
  for (const key of keys) await rawBatch(newer, [['copy', key, big, 0, 0, now - 1024, 'repair']]);
}
