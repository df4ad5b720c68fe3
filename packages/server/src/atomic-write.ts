import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** The few file operations an atomic write needs; tests inject failing ones. */
export interface AtomicWriteFs {
  open: typeof open;
  rename: typeof rename;
  unlink: typeof unlink;
}

const NODE_FS: AtomicWriteFs = { open, rename, unlink };

/**
 * Replaces `file` with `data` so that a reader (or a restart after a crash) sees the old content
 * or the new one, never a mix or a truncated file: the data goes to a fresh temporary file in the
 * same directory (rename is atomic only within one filesystem), is fsynced — so the rename cannot
 * reach the disk before the data does — and is then renamed over `file`. The directory is fsynced
 * last so the rename itself survives a power cut. On failure the temporary file is removed and
 * `file` is left as it was.
 */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array,
  fs: AtomicWriteFs = NODE_FS,
): Promise<void> {
  const directory = dirname(file);
  const temporary = join(
    directory,
    `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  try {
    // 'wx': never follow or reuse something already at that name; 0o600: a snapshot holds the data.
    const handle = await fs.open(temporary, 'wx', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, file);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory, fs);
}

/** Best effort: some platforms (Windows) cannot open a directory; the rename is done regardless. */
async function syncDirectory(directory: string, fs: AtomicWriteFs): Promise<void> {
  try {
    const handle = await fs.open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Nothing to undo: the new file is in place; only its durability across a power cut is weaker.
  }
}
