import { randomBytes } from 'node:crypto';
import { open, readdir, readlink, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The few file operations an atomic write needs; tests inject failing ones. */
export interface AtomicWriteFs {
  open: typeof open;
  rename: typeof rename;
  unlink: typeof unlink;
}

const NODE_FS: AtomicWriteFs = { open, rename, unlink };

/** Temporary files this process is writing now: never leftovers, whatever their pid says. */
const writing = new Set<string>();

/**
 * Replaces `file` with `data` (one buffer, or several written one after the other) so that a
 * reader (or a restart after a crash) sees the old content or the new one, never a mix or a
 * truncated file: the data goes to a fresh temporary file in the
 * same directory (rename is atomic only within one filesystem), is fsynced — so the rename cannot
 * reach the disk before the data does — and is then renamed over `file`. The directory is fsynced
 * last so the rename itself survives a power cut. On failure the temporary file is removed and
 * `file` is left as it was. A symlink at `file` stays: the file it names is replaced
 * ({@link linkTarget}). Something at `file` that is not a regular file (a device such as
 * /dev/null, a FIFO, a directory) is never replaced: an Error saying so, and nothing written.
 */
export async function writeFileAtomic(
  file: string,
  data: Uint8Array | readonly Uint8Array[],
  fs: AtomicWriteFs = NODE_FS,
): Promise<void> {
  // Followed through a symlink, as a reader opens it. Any other failure (none there, no access)
  // is left to the write below to report.
  const existing = await stat(file).catch(() => undefined);
  if (existing !== undefined && !existing.isFile()) {
    throw new Error(`${file} is not a regular file`);
  }
  const target = await linkTarget(file);
  const directory = dirname(target);
  const temporary = join(
    directory,
    `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  writing.add(temporary);
  try {
    // 'wx': never follow or reuse something already at that name; 0o600: a snapshot holds the data.
    const handle = await fs.open(temporary, 'wx', 0o600);
    try {
      // A list is written piece after piece (each from where the last ended): no one buffer.
      for (const piece of data instanceof Uint8Array ? [data] : data) await handle.writeFile(piece);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, target);
  } catch (error) {
    await fs.unlink(temporary).catch(() => undefined);
    throw error;
  } finally {
    writing.delete(temporary);
  }
  await syncDirectory(directory, fs);
}

/**
 * Removes the temporary files writeFileAtomic left beside `file` in a process killed mid-write
 * (SIGKILL, power loss): those whose pid is no longer alive, or is this process's (a container
 * restarts its node under the same pid) and that it is not writing now. A file of a live process
 * is left alone: it may be writing. Best effort: returns the names removed, never throws.
 */
export async function removeLeftoverTemporaries(link: string): Promise<string[]> {
  const file = await linkTarget(link);
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(file))}\\.(\\d+)\\.[0-9a-f]{8}\\.tmp$`);
  const directory = dirname(file);
  let names: string[];
  try {
    names = await readdir(directory);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const pid = pattern.exec(name)?.[1];
    const path = join(directory, name);
    if (pid === undefined || writing.has(path) || isAlive(Number(pid))) continue;
    try {
      await unlink(path);
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }
  return removed;
}

/**
 * The file a path names once symlinks in its last component are followed, dangling ones
 * included (a link to a file on a volume that has no snapshot yet): a save replaces that file, so
 * the link stays and goes on naming what was saved, as a read through it expects. `path` itself
 * when it is not a symlink (or cannot be read as one).
 */
export async function linkTarget(path: string): Promise<string> {
  let at = path;
  // Linux's own limit on links followed in one lookup; a loop ends there.
  for (let hops = 0; hops < 40; hops++) {
    let next: string;
    try {
      next = await readlink(at);
    } catch {
      return at; // not a symlink, or absent
    }
    at = resolve(dirname(at), next);
  }
  return at;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return false; // this process's, and not being written (checked above)
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, under another user.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
