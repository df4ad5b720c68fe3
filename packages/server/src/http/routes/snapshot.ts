import { Hono } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import { HttpError } from '../../errors/http-error.js';
import { timed } from '../middleware/timed.js';

/**
 * `POST /v1/snapshot`: saves the node's snapshot file now, as Redis' `SAVE` does, answering
 * `{ saved, bytes }` (entries and file size). 409 `no_snapshot_file` when the node has none; 500
 * `snapshot_failed` when it cannot be written (the previous file is then intact). Saves happen at
 * shutdown and on this request only, never on a timer.
 */
export function snapshotRoutes(node: NodeState): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.post(
    '/',
    timed(node, 'snapshot', async (c) => {
      const snapshot = node.snapshot;
      if (snapshot === undefined) {
        throw new HttpError(
          409,
          'no_snapshot_file',
          'this node has no snapshot file (start it with --snapshot-file)',
        );
      }
      try {
        return c.json(await snapshot.save());
      } catch (error) {
        node.logger.error('snapshot_save_failed', (error as Error).message, {
          file: snapshot.file,
        });
        throw new HttpError(500, 'snapshot_failed', (error as Error).message, { cause: error });
      }
    }),
  );
  return app;
}
