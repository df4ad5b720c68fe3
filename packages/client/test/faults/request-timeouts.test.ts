// No node paused, killed or cut off: one client's `timeout` forced down to the cluster's median
// write latency (15 ms at least), so about half its requests time out on a healthy cluster, as
// they do on a loaded machine at the default 1 s. To that client
// a timeout looks like a partition; to another client the node is fine and answers its reads. A
// write or delete whose primary timed out (perhaps never sent: it expired in the batch queue)
// while the other replica took it must not be reported done — the other process's next read asks
// that primary first and, until the hint replays, gets the old value there. Nor may the writer's
// short timeout drop the hints it hands off for the replicas its writes missed: a dropped hint
// fences its node.
import { afterEach, describe, expect, it } from 'vitest';
import type { DistributedCacheClient } from '../../src/index.js';
import { checkRegisters, describeViolations } from './checker.js';
import { readHistory } from './history.js';
import { clusterCounters, sum } from './replication-counters.js';
import type { NodeCounters } from './replication-counters.js';
import { Scenario } from './scenario.js';
import { runWorkerProcess, runWorkload, tally } from './worker.js';
import type { WorkloadOptions } from './worker.js';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

/**
 * The median time a write takes now (through a client with the default timeout): a fixed 15 ms
 * let 15 of 475 writes complete on a loaded machine, too few for the check to mean anything.
 */
async function medianWriteMs(client: DistributedCacheClient): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 21; i++) {
    const started = performance.now();
    await client.set(`latency:${i}`, i);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[10]!;
}

/** What made nodes doubt their entries (fences, hints dropped), for the failure message. */
function doubts(nodes: readonly NodeCounters[]): string {
  return nodes
    .map(({ url, values }) => {
      const { fences, stalls, verifications, hintsStored, hintsDropped, staleReadsPrevented } =
        values;
      const shown = { fences, stalls, verifications, hintsStored, hintsDropped };
      return `${url} ${JSON.stringify({ ...shown, staleReadsPrevented })}`;
    })
    .join('; ');
}

describe('requests timing out without a fault', () => {
  it('no read returns a value older than the newest completed write or delete', async () => {
    scenario = await Scenario.start();
    const timeout = Math.max(15, Math.round(await medianWriteMs(scenario.client())));
    const common = {
      urls: scenario.nemesis.urls,
      keys: 10,
      operations: 20_000,
      durationMs: 8000,
      concurrency: 16,
    } satisfies Partial<WorkloadOptions>;
    const file = scenario.file('reader');
    const [own] = await Promise.all([
      // Writes and deletes only, timing out often. Never marked down: every call keeps asking the
      // primary, and a loaded moment cannot become a run where every node is down.
      runWorkload({
        ...common,
        process: 'writer',
        seed: 1,
        client: { timeout, failureThreshold: 1_000_000 },
        mix: { write: 4, delete: 1, read: 0 },
      }),
      // Another process, with the default timeout: its reads ask each key's primary, which answers.
      runWorkerProcess(
        { ...common, process: 'reader', seed: 2, mix: { write: 0, delete: 0, read: 1 } },
        file,
      ),
    ]);
    const history = [...own, ...readHistory(file)];
    const report = checkRegisters(history);
    const nodes = await clusterCounters(scenario.nemesis.urls);
    const summary = `writer timeout ${timeout} ms: ${JSON.stringify(tally(history))}\n${doubts(nodes)}\n${describeViolations(report)}`;
    // Timed-out calls are unknown outcomes (checker.ts); enough answered to mean something.
    const done = history.filter((op) => op.kind !== 'read' && op.outcome === 'ok').length;
    expect(done, summary).toBeGreaterThan(100);
    expect(report.reads, summary).toBeGreaterThan(1000);
    expect(report.violations.length, summary).toBe(0);
    // Hints are handed off with a time of their own (at least 1 s), not the writer's: at its 15 ms
    // about half were dropped, and each drop fenced a whole node (dozens per node per run), which
    // once both replicas of a key were fenced turned its reads into misses.
    expect(sum(nodes, 'fences'), summary).toBe(0);
  });
});
