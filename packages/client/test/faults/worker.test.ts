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
  it('two client processes, no fault: every operation answers and no read is stale', async () => {
    nemesis = await Nemesis.start({ nodes: 3 });
    dir = mkdtempSync(join(tmpdir(), 'dcache-worker-'));
    const common = {
      urls: nemesis.urls,
      client: { writeConsistency: 'all', timeout: 5000 },
      keys: 20,
      operations: 400,
      durationMs: 3000,
    } satisfies Partial<WorkloadOptions>;
    const file = join(dir, 'other.jsonl');
    const [own, counts] = await Promise.all([
      runWorkload({ ...common, process: 'here', seed: 1 }),
      runWorkerProcess({ ...common, process: 'other', seed: 2 }, file),
    ]);
    const other = readHistory(file);
    expect(other.length).toBe(Object.values(counts).reduce((a, b) => a + b, 0));
    const history = [...own, ...other];
    expect(history.every((op) => op.outcome === 'ok')).toBe(true);
    expect(new Set(history.map((op) => op.process))).toEqual(new Set(['here', 'other']));
    const report = checkRegisters(history);
    expect(report.reads).toBeGreaterThan(50);
    expect(report.violations, describeViolations(report)).toEqual([]);
  });
});
