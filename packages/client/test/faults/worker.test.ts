// Two client processes on one cluster, no fault: the histories merge and the checker reads them.
// This is the baseline every fault test builds on (and a check that the worker records honestly).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkRegisters, describeViolations } from './checker.js';
import { readHistory } from './history.js';
import { Nemesis } from './nemesis.js';
import { runWorkerProcess, runWorkload } from './worker.js';
import type { WorkloadOptions } from './worker.js';

let nemesis: Nemesis | undefined;
let dir: string | undefined;

afterEach(async () => {
  await nemesis?.cleanup();
  nemesis = undefined;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('worker', () => {
  // Each process on its own keys, one operation at a time, every write on every replica before it
  // answers ('all'): no two operations on a key overlap and replicas never differ, so none of
  // today's races (docs/design/never-stale.md, "Found without any fault") can occur, and a
  // violation would be the worker's or the checker's own bug.
  it('two client processes, no fault: histories merge, and the other process reads what this one wrote', async () => {
    nemesis = await Nemesis.start({ nodes: 3 });
    dir = mkdtempSync(join(tmpdir(), 'dcache-worker-'));
    const common = {
      urls: nemesis.urls,
      client: { writeConsistency: 'all', timeout: 5000 },
      keys: 20,
      operations: 300,
      durationMs: 3000,
      concurrency: 1,
    } satisfies Partial<WorkloadOptions>;
    const otherFile = join(dir, 'other.jsonl');
    const [own, counts] = await Promise.all([
      runWorkload({ ...common, process: 'here', keyPrefix: 'h', seed: 1 }),
      runWorkerProcess({ ...common, process: 'other', keyPrefix: 'o', seed: 2 }, otherFile),
    ]);
    const other = readHistory(otherFile);
    expect(other.length).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
    // Then the other process reads every key this one wrote, once, in order.
    const readsFile = join(dir, 'reads.jsonl');
    await runWorkerProcess(
      {
        ...common,
        process: 'other',
        keyPrefix: 'h',
        seed: 3,
        operations: common.keys,
        mix: { write: 0, delete: 0, read: 1 },
        order: 'sequential',
      },
      readsFile,
    );
    const reads = readHistory(readsFile);
    expect(reads.map((op) => op.key)).toEqual(Array.from({ length: 20 }, (_, i) => `h${i}`));
    expect(reads.some((op) => typeof op.value === 'string' && op.value.startsWith('here-'))).toBe(
      true,
    );

    const history = [...own, ...other, ...reads];
    expect(history.every((op) => op.outcome === 'ok')).toBe(true);
    const report = checkRegisters(history);
    expect(report.reads).toBeGreaterThan(100);
    expect(report.violations, describeViolations(report)).toEqual([]);
  });
});
