import { rename } from 'node:fs/promises';
import { linkTarget, removeLeftoverTemporaries, writeFileAtomic } from './atomic-write.js';
import { SnapshotError, isSnapshotError } from '../errors/snapshot-error.js';
import type { Logger } from '../observability/logger.js';
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  decodeSnapshot,
  encodeSnapshotPieces,
  stampsOf,
} from './snapshot-format.js';
import type { SnapshotDocument } from './snapshot-format.js';
import { readWholeFile } from './read-whole-file.js';
import type { ReplicaStore } from '../replication/replica-store.js';
import { epochVersion } from '../replication/version-floor.js';
import { fenceFileOf, fenceFloor, readFence, writeFence } from '../replication/version-fence.js';

/** What one save wrote. */
export interface SnapshotSaved {
  /** Entries in the snapshot. */
  saved: number;
  /** Size of the file. */
  bytes: number;
}

/**
 * A node's snapshot file (`snapshotFile`): restored into the cache once, before the node first
 * listens, and saved at a graceful shutdown or on request (`POST /v1/snapshot`).
 */
export class NodeSnapshot {
  readonly file: string;
  readonly #replicas: ReplicaStore;
  readonly #trust: boolean;
  readonly #now: () => number;
  readonly #logger: Logger;
  /** The save writing now, if any. */
  #running: Promise<SnapshotSaved> | undefined;
  /** The save that starts once #running is done, shared by every call made meanwhile. */
  #queued: Promise<SnapshotSaved> | undefined;

  constructor(
    file: string,
    replicas: ReplicaStore,
    now: () => number,
    logger: Logger,
    trustSnapshot = false,
  ) {
    this.file = file;
    this.#replicas = replicas;
    this.#trust = trustSnapshot;
    this.#now = now;
    this.#logger = logger;
  }

  /**
   * Replaces the cache's contents with the file's, less the time the file spent on disk. Never
   * throws: a missing file (a first start) is logged at info; a file that cannot be read or is not
   * a valid snapshot is logged as an error, left as it is, and the cache starts empty — as
   * memcached does with a bad memory file. Either way every version from now on — loaded
   * entries' included — is above every version handed out before, under the condition
   * version-floor.ts states, and the counters start at zero: the load is not traffic. Last, the
   * version fence is written (version-fence.ts), before the node can hand out any version.
   */
  async restore(): Promise<void> {
    await this.#removeLeftovers();
    const document = await this.#read();
    const fence = await readFence(this.file, this.#logger);
    const now = this.#now();
    const floor = Math.max(epochVersion(now), fenceFloor(fence, now));
    let loaded = false;
    if (document !== undefined) {
      // A clock that went back counts as no time on disk.
      const elapsed = Math.max(0, now - document.savedAt);
      try {
        const minVersion = Math.max(document.lastVersion, floor);
        this.#cache.load(document.entries, { elapsed, minVersion });
        loaded = true;
        const dropped = document.entries.length - this.#cache.size;
        this.#logger.info(
          'snapshot_loaded',
          `loaded ${this.#cache.size} entries from snapshot ${this.file} saved ${Math.round(elapsed)} ms ago` +
            (dropped > 0 ? ` (${dropped} expired meanwhile or did not fit)` : ''),
          { file: this.file, entries: this.#cache.size },
        );
      } catch (error) {
        this.#startingEmpty(
          `snapshot ${this.file} is not valid: ${(error as Error).message}`,
          await this.#keepAside(),
        );
      }
    }
    if (!loaded) this.#cache.load([], { minVersion: floor });
    this.#replicas.loaded(
      loaded && document !== undefined
        ? { flushStamp: document.flushStamp, tombstoneFloor: document.tombstoneFloor }
        : {},
    );
    this.#replicas.resetStats();
    // What the file holds may have been overwritten or deleted elsewhere while this node was
    // down: unverified until a peer vouches for it (never-stale.md §5), unless told to trust it.
    if (loaded && this.#cache.size > 0 && !this.#trust) {
      this.#replicas.fence();
      this.#logger.info(
        'fenced',
        `the ${this.#cache.size} restored entries are unverified until a peer replica vouches for them`,
      );
    }
    await writeFence(this.file, { version: this.#cache.lastVersion, at: now }, this.#logger);
  }

  get #cache(): ReplicaStore['cache'] {
    return this.#replicas.cache;
  }

  /** Temporary files of a save (or fence write) that a kill cut short would pile up otherwise. */
  async #removeLeftovers(): Promise<void> {
    for (const file of [this.file, fenceFileOf(this.file)]) {
      const removed = await removeLeftoverTemporaries(file);
      if (removed.length > 0) {
        this.#logger.warn(
          'snapshot_leftovers_removed',
          `removed ${removed.length} temporary file(s) left by an interrupted save: ${removed.join(', ')}`,
          { file },
        );
      }
    }
  }

  async #read(): Promise<SnapshotDocument | undefined> {
    let bytes: Buffer;
    try {
      bytes = await readWholeFile(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#logger.info('snapshot_missing', `no snapshot at ${this.file} yet: starting empty`, {
          file: this.file,
        });
      } else {
        this.#startingEmpty(`cannot read snapshot ${this.file}: ${(error as Error).message}`);
      }
      return undefined;
    }
    try {
      return decodeSnapshot(this.file, bytes);
    } catch (error) {
      // Whatever went wrong, the node starts (empty) rather than not at all.
      this.#startingEmpty(
        isSnapshotError(error)
          ? error.message
          : `snapshot ${this.file} is not valid: ${(error as Error).message}`,
        await this.#keepAside(),
      );
      return undefined;
    }
  }

  #startingEmpty(problem: string, asideAt?: string): void {
    const kept =
      asideAt === undefined
        ? 'the file is left as it is until the next snapshot replaces it'
        : `the file is kept as ${asideAt}, so the next save does not destroy it`;
    this.#logger.error('snapshot_invalid', `${problem}; starting empty (${kept})`, {
      file: this.file,
    });
  }

  /**
   * Moves a file that is not a snapshot this node can load to `<file>.unreadable` (replacing an
   * earlier one): it may be a newer version's snapshot (a rollback), or a file the path was
   * mistyped onto, which the next save would otherwise overwrite. Undefined when it cannot be.
   */
  async #keepAside(): Promise<string | undefined> {
    try {
      // Through a symlink, the file it names: the link stays for the next save to write through.
      const file = await linkTarget(this.file);
      const aside = `${file}.unreadable`;
      await rename(file, aside);
      return aside;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes the cache's live entries, with its last version taken at the same moment, to the file
   * atomically (see atomic-write.ts). Changes nothing in the cache. Throws a SnapshotError when
   * the file cannot be written; the previous file is then intact.
   *
   * One save at a time: a save holds the whole dump (and its encoding) in memory, and two racing
   * renames could leave the older dump on disk. A call while one is running waits for it and then
   * saves afresh — its dump is taken after the call, so it misses no write made before — and
   * every call arriving meanwhile shares that one follow-up save.
   */
  save(): Promise<SnapshotSaved> {
    if (this.#queued !== undefined) return this.#queued;
    const running = this.#running;
    if (running === undefined) return this.#start();
    const queued = running
      .catch(() => undefined)
      .then(() => {
        this.#queued = undefined;
        return this.#start();
      });
    this.#queued = queued;
    return queued;
  }

  #start(): Promise<SnapshotSaved> {
    const running = this.#saveNow().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #saveNow(): Promise<SnapshotSaved> {
    // The store's dump applies a due flush first: what it wiped must not come back at the next start.
    const entries = this.#replicas.dump();
    const stamps = stampsOf(entries);
    const lastVersion = this.#cache.lastVersion;
    const flushStamp = this.#replicas.flushStamp;
    const { tombstoneFloor } = this.#replicas.replicaStats;
    let bytes = 0;
    try {
      // Inside: a snapshot too big to encode (or to read back) is a SnapshotError too.
      const pieces = await encodeSnapshotPieces(
        {
          format: SNAPSHOT_FORMAT,
          version: SNAPSHOT_VERSION,
          savedAt: this.#now(),
          lastVersion,
          flushStamp,
          tombstoneFloor,
          entries,
        },
        stamps,
      );
      for (const piece of pieces) bytes += piece.length;
      await writeFileAtomic(this.file, pieces);
    } catch (error) {
      throw new SnapshotError(
        this.file,
        `cannot save snapshot ${this.file}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    this.#logger.info(
      'snapshot_saved',
      `saved ${entries.length} entries (${bytes} bytes) to snapshot ${this.file}`,
      { file: this.file, entries: entries.length, bytes },
    );
    return { saved: entries.length, bytes };
  }
}
