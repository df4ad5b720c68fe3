// The memcached port writes and reads the same store as the HTTP API (docs/design/never-stale.md
// §8): its deletes leave tombstones that a cluster client's repair cannot undo, and since a
// memcached client cannot verify, the port answers what the node cannot vouch for (entries restored
// from a snapshot, not yet verified) as a miss — never the old value.
import { afterEach, describe, expect, it } from 'vitest';
import { encodeValue } from '../../src/codec.js';
import { MemcachedText } from './memcached-text.js';
import { eventually, nodeStats, statNamed } from './node-http.js';
import { clusterCounters, mismatched } from './replication-counters.js';
import {
  CONCURRENCY,
  faultWriteProblems,
  key,
  Scenario,
  untouchedKey,
  writes,
} from './scenario.js';
import { HistoryRecorder } from './history.js';
import { runPlan, tally } from './worker.js';
import type { PlanStep } from './worker.js';
import type { DistributedCacheClient } from '../../src/index.js';

const WITHIN_MS = 5000;

let scenario: Scenario | undefined;
let memcached: MemcachedText | undefined;

afterEach(async () => {
  memcached?.close();
  memcached = undefined;
  await scenario?.cleanup();
  scenario = undefined;
});

/**
 * Runs `plan` with `client`; fails the test unless every step answered — during a fault, unless
 * every step answered but those caught before the node was marked down (`faultWriteProblems`).
 */
async function apply(
  client: DistributedCacheClient,
  plan: readonly PlanStep[],
  duringFault = false,
): Promise<void> {
  const recorder = new HistoryRecorder('test');
  await runPlan(client, recorder, plan, CONCURRENCY);
  const summary = JSON.stringify(tally(recorder.operations));
  if (duringFault) {
    expect(faultWriteProblems(recorder.operations), summary).toBe('');
    return;
  }
  const failed = recorder.operations.filter((op) => op.outcome !== 'ok');
  expect(failed.length, summary).toBe(0);
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === undefined || b === undefined
    ? a === b
    : Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

const shown = (bytes: Uint8Array | undefined): string =>
  bytes === undefined ? 'a miss' : JSON.stringify(Buffer.from(bytes).toString('latin1'));

describe('the memcached port', () => {
  it("a delete through it is a tombstone: a cluster client's read repair does not bring the value back", async () => {
    scenario = await Scenario.start({ nodeArgs: ['--memcached-port', '0'] });
    const writer = scenario.client();
    const url = scenario.nemesis.urls[0]!;
    await apply(
      writer,
      writes(0, 60, (i) => `v0-${key(i)}`),
    );
    const here = Array.from({ length: 60 }, (_, i) => key(i)).filter((k) =>
      writer.nodesFor(k).includes(url),
    );
    // Two of three nodes hold each key: about 40 of the 60 (none would make this test vacuous).
    expect(here.length).toBeGreaterThan(10);
    memcached = await MemcachedText.connect(scenario.nemesis.nodes[0]!.memcached!);
    for (const k of here) expect(await memcached.delete(k), k).toBe('DELETED');

    // Another client reads them all: node 0 misses, the other replica still has v0 (the port does
    // not replicate), and whatever the client repairs must lose to node 0's newer tombstone.
    const reader = scenario.client();
    for (const k of here) await reader.get(k);
    await reader.close();
    const back: string[] = [];
    for (const k of here) {
      const bytes = await memcached.get(k);
      if (bytes !== undefined) back.push(`${k}: ${shown(bytes)}`);
    }
    expect(
      back,
      'deleted through the port, then back after a read through the cluster client',
    ).toEqual([]);
  });

  it('after a snapshot restart it serves misses, never an old value, until entries are verified or rewritten', async () => {
    scenario = await Scenario.start({ snapshots: true, nodeArgs: ['--memcached-port', '0'] });
    const writer = scenario.client();
    const url = scenario.nemesis.urls[0]!;
    await apply(writer, [
      ...writes(0, 60, (i) => `v0-${key(i)}`),
      ...writes(0, 30, (i) => `v0-${untouchedKey(i)}`, untouchedKey),
    ]);
    const onNode = (keys: string[]): string[] =>
      keys.filter((k) => writer.nodesFor(k).includes(url));
    const overwritten = onNode(Array.from({ length: 30 }, (_, i) => key(i)));
    const deleted = onNode(Array.from({ length: 30 }, (_, i) => key(30 + i)));
    const untouched = onNode(Array.from({ length: 30 }, (_, i) => untouchedKey(i)));

    await scenario.nemesis.stop(0);
    await apply(
      writer,
      [...writes(0, 30, (i) => `v1-${key(i)}`), ...writes(30, 60, 'delete')],
      true,
    );
    await writer.close();
    await scenario.nemesis.restart(0, 'snapshot');
    memcached = await MemcachedText.connect(scenario.nemesis.nodes[0]!.memcached!);

    // At once: no old value for what changed while the node was down, and the untouched keys
    // (which nothing has verified) are misses.
    const wrong: string[] = [];
    for (const k of [...overwritten, ...deleted]) {
      const bytes = await memcached.get(k);
      if (same(bytes, encodeValue(`v0-${k}`).bytes)) wrong.push(`${k}: the old value`);
    }
    // An untouched key may already be verified, by a copy only: a hint from the writes before the
    // stop (one node 0 was slow to acknowledge on a loaded machine), replayed as the node came
    // back, carries its one value. Anything else served is an entry nothing vouched for.
    const verifiedByCopy: string[] = [];
    for (const k of untouched) {
      const bytes = await memcached.get(k);
      if (bytes === undefined) continue;
      if (same(bytes, encodeValue(`v0-${k}`).bytes)) verifiedByCopy.push(k);
      else wrong.push(`${k} (not verified yet): ${shown(bytes)}`);
    }
    expect(wrong).toEqual([]);
    const copies = statNamed(await nodeStats(url), 'copiesApplied') ?? 0;
    expect(
      verifiedByCopy.length,
      `untouched keys served at once (${verifiedByCopy.join(', ')}), against copies applied`,
    ).toBeLessThanOrEqual(copies);
    const [counted] = await clusterCounters([url]);
    expect(
      mismatched([counted!], ['staleReadsPrevented']),
      JSON.stringify(counted!.values),
    ).toEqual([]);
    expect(
      counted!.values.staleReadsPrevented,
      JSON.stringify(counted!.values),
    ).toBeGreaterThanOrEqual(untouched.length - verifiedByCopy.length);

    // The hints bring what the node missed: new values and misses for the deleted keys.
    let left: string[] = [];
    const caughtUp = await eventually(async () => {
      left = [];
      for (const k of overwritten) {
        const bytes = await memcached!.get(k);
        if (!same(bytes, encodeValue(`v1-${k}`).bytes)) left.push(`${k}: ${shown(bytes)}`);
      }
      for (const k of deleted) {
        const bytes = await memcached!.get(k);
        if (bytes !== undefined) left.push(`${k} (deleted): ${shown(bytes)}`);
      }
      return left.length === 0;
    }, WITHIN_MS);
    expect(caughtUp, left.join('\n')).toBe(true);

    // A cluster client's read verifies the untouched keys it asks this node for (those it is the
    // primary of: a read asks the primary first); then the port serves them.
    const reader = scenario.client();
    for (const k of untouched) expect(await reader.get(k), k).toBe(`v0-${k}`);
    const askedHere = untouched.filter((k) => reader.nodesFor(k)[0] === url);
    expect(askedHere.length).toBeGreaterThan(0);
    const served = await eventually(async () => {
      for (const k of askedHere) {
        if (!same(await memcached!.get(k), encodeValue(`v0-${k}`).bytes)) return false;
      }
      return true;
    }, WITHIN_MS);
    expect(served, 'verified entries served by the memcached port').toBe(true);
  });
});
