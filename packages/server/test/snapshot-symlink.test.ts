import { lstat, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

/**
 * A snapshot path that is a symlink (to a file on a volume, say) is read through the link, so it
 * must be saved through it too: renaming the new file over the link's own name replaced the link
 * with a file beside it, and the target — what the next start reads if the link comes back, as
 * it does when it is part of the image — kept the first snapshot forever.
 */

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-snapshot-symlink-'));
});
afterEach(async () => {
  await stopCliNodes();
  await rm(dir, { recursive: true, force: true });
});

describe('a snapshot path that is a symlink', () => {
  it('saves to the target and keeps the link', async () => {
    const volume = join(dir, 'volume');
    await mkdir(volume);
    const target = join(volume, 'cache.snapshot');
    const link = join(dir, 'cache.snapshot');
    await symlink(target, link);
    const args = ['--trust-snapshot', '--snapshot-file'];

    const viaTarget = await startCliNode([...args, target]);
    await fetch(`${viaTarget.url}/v1/keys/k`, { method: 'PUT', body: 'old' });
    expect(await viaTarget.stop('SIGTERM')).toBe(0);

    const viaLink = await startCliNode([...args, link]);
    expect(await (await fetch(`${viaLink.url}/v1/keys/k`)).text()).toBe('old');
    await fetch(`${viaLink.url}/v1/keys/k`, { method: 'PUT', body: 'new' });
    expect(await viaLink.stop('SIGTERM')).toBe(0);

    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    // Nothing else beside the link but its version fence; the target's temporary file is gone.
    expect((await readdir(dir)).sort()).toEqual([
      'cache.snapshot',
      'cache.snapshot.fence',
      'volume',
    ]);
    expect((await readdir(volume)).sort()).toEqual(['cache.snapshot', 'cache.snapshot.fence']);
    const again = await startCliNode([...args, target]);
    expect(await (await fetch(`${again.url}/v1/keys/k`)).text()).toBe('new');
  });

  it('a dangling link (a volume with no snapshot yet): the first save creates its target', async () => {
    const volume = join(dir, 'volume');
    await mkdir(volume);
    const target = join(volume, 'cache.snapshot');
    const link = join(dir, 'cache.snapshot');
    await symlink(target, link);
    const node = await startCliNode(['--trust-snapshot', '--snapshot-file', link]);
    await fetch(`${node.url}/v1/keys/k`, { method: 'PUT', body: 'v' });
    expect(await node.stop('SIGTERM')).toBe(0);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await lstat(target)).isFile()).toBe(true);
  });

  it('a bad file behind the link is kept aside beside it, and the link stays', async () => {
    const volume = join(dir, 'volume');
    await mkdir(volume);
    const target = join(volume, 'cache.snapshot');
    const link = join(dir, 'cache.snapshot');
    await writeFile(target, 'not a snapshot');
    await symlink(target, link);
    const node = await startCliNode(['--snapshot-file', link]);
    expect(node.output()).toContain(`kept as ${target}.unreadable`);
    expect(await readFile(`${target}.unreadable`, 'utf8')).toBe('not a snapshot');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(await node.stop('SIGTERM')).toBe(0);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await lstat(target)).isFile()).toBe(true);
  });
});
