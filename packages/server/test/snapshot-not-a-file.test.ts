import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * `--snapshot-file /dev/null` (the usual way to say "no file"), or a path that names a FIFO or
 * another device: not a snapshot, and not something a node may move aside or replace. Before,
 * a node run as root renamed the device to `<file>.unreadable` at start and put a regular file
 * in its place at shutdown; a FIFO hung the start forever, waiting for a writer.
 */

const root = process.getuid?.() === 0;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-notfile-'));
});
afterEach(async () => {
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

describe('a snapshot path that is not a regular file', () => {
  it.runIf(root)(
    'a character device (a null device): left as it is, at start and at shutdown',
    async () => {
      const device = join(dir, 'null');
      execFileSync('mknod', [device, 'c', '1', '3']); // what /dev/null is
      const node = await startCliNode(['--snapshot-file', device]);
      expect(await readdir(dir)).not.toContain('null.unreadable');
      expect((await lstat(device)).isCharacterDevice()).toBe(true);
      expect(node.output()).toMatch(/not a regular file/);
      await fetch(`${node.url}/v1/keys/k`, { method: 'PUT', body: 'v' });
      const code = await node.stop('SIGTERM');
      expect((await lstat(device)).isCharacterDevice()).toBe(true);
      expect(code).toBe(1); // the save is refused, naming the file
      expect(node.output()).toMatch(/cannot save snapshot .*not a regular file/);
    },
  );

  it('a FIFO: the node starts (it does not wait for a writer), and the FIFO stays', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const node = await startCliNode(['--snapshot-file', fifo], { timeoutMs: 5000 });
    expect(node.output()).toMatch(/not a regular file/);
    expect(await node.stop('SIGTERM')).toBe(1);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it('a FIFO in place of the version fence beside a snapshot: the node starts, and the FIFO stays', async () => {
    const snapshot = join(dir, 'cache.snapshot');
    const fence = `${snapshot}.fence`;
    execFileSync('mkfifo', [fence]);
    const node = await startCliNode(['--snapshot-file', snapshot], { timeoutMs: 5000 });
    expect(node.output()).toMatch(/cannot read version fence .*not a regular file/);
    expect(node.output()).toMatch(/cannot write version fence .*not a regular file/);
    expect(await node.stop('SIGTERM')).toBe(0);
    expect((await lstat(fence)).isFIFO()).toBe(true);
  });
});
