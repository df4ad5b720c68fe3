import { writeFileAtomic } from '../snapshot/atomic-write.js';
import { readWholeFile } from '../snapshot/read-whole-file.js';
import type { Logger } from '../observability/logger.js';
import { VERSIONS_PER_MS, capVersion } from './version-floor.js';

/** What a node wrote beside its snapshot right after it restored: its version counter then. */
export interface VersionFence {
  /** The cache's `lastVersion` once the restore was done. */
  version: number;
  /** The `now` clock at that moment, in ms. */
  at: number;
}

/** `<snapshot file>.fence`: the fence sits next to the snapshot it guards. */
export function fenceFileOf(snapshotFile: string): string {
  return `${snapshotFile}.fence`;
}

/**
 * The version a start at `nowMs` must hand out versions above so none can match one a run that
 * restored (and wrote `fence`) and then crashed handed out — as long as that run averaged fewer
 * than VERSIONS_PER_MS writes per ms since its restore. Why the fence: a restore puts the counter
 * at the floor plus the snapshot's version span, ahead of the clock's epoch by that span, which
 * the epoch alone does not cover.
 */
export function fenceFloor(fence: VersionFence | undefined, nowMs: number): number {
  if (fence === undefined) return 0;
  // A clock that went back counts as no time since the fence.
  const since = Math.max(0, Math.floor(nowMs) - Math.floor(fence.at));
  return capVersion(fence.version + since * VERSIONS_PER_MS + 1);
}

/** The fence beside `snapshotFile`; undefined (with a warning) when missing, unreadable or bad. */
export async function readFence(
  snapshotFile: string,
  logger: Logger,
): Promise<VersionFence | undefined> {
  const file = fenceFileOf(snapshotFile);
  let text: string;
  try {
    // Opened as the snapshot is (non-blocking, regular files only): a FIFO would hang the start.
    text = (await readWholeFile(file)).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger.warn(
        'version_fence_invalid',
        `cannot read version fence ${file}: ${(error as Error).message}; ignoring it`,
        { file },
      );
    }
    return undefined;
  }
  try {
    const parsed = JSON.parse(text) as Partial<VersionFence> | null;
    const { version, at } = parsed ?? {};
    // `at` is a reading of `now`, which may carry a fraction of a millisecond (fenceFloor
    // floors it): refused, every fence such a clock wrote would be ignored.
    if (!isCount(version) || !isTime(at)) throw new Error('expected { version, at }');
    return { version, at };
  } catch (error) {
    logger.warn(
      'version_fence_invalid',
      `version fence ${file} is not valid: ${(error as Error).message}; ignoring it`,
      { file },
    );
    return undefined;
  }
}

/** Errors of the fence's directory rather than of the fence file itself. */
const DIRECTORY_ERRORS = new Set([
  'EACCES',
  'EPERM',
  'EROFS',
  'ENOENT',
  'ENOTDIR',
  'ENOSPC',
  'EDQUOT',
]);

/**
 * Writes the fence atomically (mode 0600, like the snapshot). Never throws: without it a crash of
 * this run is covered by the clock's epoch only, so the failure is logged as an error.
 */
export async function writeFence(
  snapshotFile: string,
  fence: VersionFence,
  logger: Logger,
): Promise<void> {
  const file = fenceFileOf(snapshotFile);
  try {
    await writeFileAtomic(file, Buffer.from(`${JSON.stringify(fence)}\n`));
  } catch (error) {
    // A directory the node cannot write to fails the snapshot too, and only at shutdown: say so now.
    const code = (error as NodeJS.ErrnoException).code ?? '';
    const snapshotToo = DIRECTORY_ERRORS.has(code)
      ? `; the snapshot ${snapshotFile} is saved in the same directory and will fail the same ` +
        'way at shutdown unless that is fixed'
      : '';
    logger.error(
      'version_fence_write_failed',
      `cannot write version fence ${file}: ${(error as Error).message}; after a crash, versions ` +
        `are kept apart by the clock only${snapshotToo}`,
      { file },
    );
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
