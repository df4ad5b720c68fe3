import { mkdtemp, open, readFile, readdir, rename, rm, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeLeftoverTemporaries, writeFileAtomic } from '../src/snapshot/atomic-write.js';
import type { AtomicWriteFs } from '../src/snapshot/atomic-write.js';

let dir: string;
let file: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-atomic-'));
  file = join(dir, 'snapshot');
  await writeFile(file, 'the old snapshot');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The real file system, with a log of what was done to the temporary file and when. */
function recordingFs(
  calls: string[],
  handleHook: (handle: FileHandle) => FileHandle = (h) => h,
): AtomicWriteFs {
  return {
    open: (async (path: string, flags: string, mode?: number) => {
      const handle = await open(path, flags, mode);
      if (path === dir) return handle; // the directory fsync
      const wrapped = handleHook(handle);
      return {
        writeFile: async (data: Uint8Array) => {
          calls.push('write');
          await wrapped.writeFile(data);
        },
        sync: async () => {
          calls.push('sync');
          await wrapped.sync();
        },
        close: async () => {
          calls.push('close');
          await handle.close();
        },
      } as unknown as FileHandle;
    }) as AtomicWriteFs['open'],
    rename: (async (from: string, to: string) => {
      calls.push('rename');
      await rename(from, to);
    }) as AtomicWriteFs['rename'],
    unlink: (async (path: string) => {
      calls.push('unlink');
      await unlink(path);
    }) as AtomicWriteFs['unlink'],
  };
}

describe('writeFileAtomic', () => {
  it('replaces the file: data written and fsynced before the rename', async () => {
    const calls: string[] = [];
    await writeFileAtomic(file, Buffer.from('the new snapshot'), recordingFs(calls));
    expect(await readFile(file, 'utf8')).toBe('the new snapshot');
    expect(calls).toEqual(['write', 'sync', 'close', 'rename']);
    expect(await readdir(dir)).toEqual(['snapshot']);
  });

  it('a failure half way through the write leaves the old file intact and no temporary file', async () => {
    const calls: string[] = [];
    const failing = recordingFs(calls, (handle) => {
      return {
        writeFile: async (data: Uint8Array) => {
          // Half the data reaches the temporary file, then the disk "fills up".
          await handle.write(data.subarray(0, data.length >> 1));
          throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        },
        sync: () => handle.sync(),
      } as unknown as FileHandle;
    });
    await expect(
      writeFileAtomic(file, Buffer.from('a much longer new snapshot'), failing),
    ).rejects.toThrow(/ENOSPC/);
    expect(await readFile(file, 'utf8')).toBe('the old snapshot');
    expect(await readdir(dir)).toEqual(['snapshot']);
    expect(calls).toEqual(['write', 'close', 'unlink']);
  });

  it('a failed fsync or rename leaves the old file intact and no temporary file', async () => {
    for (const step of ['sync', 'rename'] as const) {
      const calls: string[] = [];
      const fs = recordingFs(calls, (handle) => {
        if (step !== 'sync') return handle;
        return {
          writeFile: (data: Uint8Array) => handle.writeFile(data),
          sync: () => Promise.reject(new Error('EIO: i/o error, fsync')),
        } as unknown as FileHandle;
      });
      if (step === 'rename') fs.rename = (() => Promise.reject(new Error('EXDEV'))) as never;
      await expect(writeFileAtomic(file, Buffer.from('new'), fs)).rejects.toThrow();
      expect(await readFile(file, 'utf8')).toBe('the old snapshot');
      expect(await readdir(dir)).toEqual(['snapshot']);
      expect(calls).toContain('unlink');
    }
  });

  it('removeLeftoverTemporaries leaves alone a temporary file this process is writing now', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let writing!: () => void;
    const started = new Promise<void>((resolve) => (writing = resolve));
    const slow = recordingFs([], (handle) => {
      return {
        writeFile: async (data: Uint8Array) => {
          writing();
          await released; // the write is still going when the leftovers are looked for
          await handle.writeFile(data);
        },
        sync: () => handle.sync(),
      } as unknown as FileHandle;
    });
    const write = writeFileAtomic(file, Buffer.from('the new snapshot'), slow);
    await started;
    expect(await removeLeftoverTemporaries(file)).toEqual([]);
    release();
    await write;
    expect(await readFile(file, 'utf8')).toBe('the new snapshot');
  });

  it('creates the file when there was none, readable by its owner only', async () => {
    const fresh = join(dir, 'fresh');
    await writeFileAtomic(fresh, Buffer.from('x'));
    expect(await readFile(fresh, 'utf8')).toBe('x');
    const handle = await open(fresh, 'r');
    const mode = (await handle.stat()).mode & 0o777;
    await handle.close();
    expect(mode).toBe(0o600);
  });
});
