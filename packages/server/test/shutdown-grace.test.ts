// --shutdown-grace: after SIGTERM a node leaving the ring keeps serving (reads for clients'
// transition windows, and their invalidations) for the grace, then stops as before and saves its
// snapshot. A second signal ends the grace.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';
import { EVENTUALLY } from './eventually.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopCliNodes();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function get(url: string, key: string): Promise<number> {
  const response = await fetch(`${url}/v1/keys/${key}`);
  await response.arrayBuffer();
  return response.status;
}

async function put(url: string, key: string, body: string): Promise<number> {
  const response = await fetch(`${url}/v1/keys/${key}`, { method: 'PUT', body });
  await response.arrayBuffer();
  return response.status;
}

describe('--shutdown-grace', () => {
  it('keeps serving new connections for the grace after SIGTERM, then saves and exits 0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-grace-'));
    dirs.push(dir);
    const snapshot = join(dir, 'node.snapshot');
    const node = await startCliNode([
      '--shutdown-grace',
      '1500',
      '--snapshot-file',
      snapshot,
      '--trust-snapshot',
    ]);
    expect(await put(node.url, 'before', 'v1')).toBe(204);
    const signalled = Date.now();
    node.child.kill('SIGTERM');
    const exited = new Promise<number | null>((resolve) =>
      node.child.once('exit', (code) => resolve(code)),
    );
    // Within the grace: reads and writes are served (a fresh fetch opens a new connection too).
    expect(await get(node.url, 'before')).toBe(200);
    expect(await put(node.url, 'during', 'v2')).toBe(204);
    expect(await exited).toBe(0);
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(1500);
    expect(node.output()).toMatch(/serving for 1500 ms more \(--shutdown-grace\)/);
    // The snapshot holds what was written during the grace.
    const again = await startCliNode(['--snapshot-file', snapshot, '--trust-snapshot']);
    expect(await get(again.url, 'during')).toBe(200);
  });

  it('a second signal ends the grace: the node stops at once', async () => {
    const node = await startCliNode(['--shutdown-grace', '60000']);
    node.child.kill('SIGTERM');
    await expect.poll(() => node.output(), EVENTUALLY).toMatch(/serving for 60000 ms more/);
    expect(await get(node.url, 'k')).toBe(404);
    const signalled = Date.now();
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
  });

  it('is 0 by default: SIGTERM stops the node at once', async () => {
    const node = await startCliNode([]);
    const signalled = Date.now();
    expect(await node.stop('SIGTERM')).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(10_000);
    expect(node.output()).not.toMatch(/--shutdown-grace/);
  });

  it('refuses a value that is not a whole number of ms, naming the flag', async () => {
    await expect(startCliNode(['--shutdown-grace', '5s'])).rejects.toThrow(
      /--shutdown-grace must be a whole number/,
    );
  });
});
