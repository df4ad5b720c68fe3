import type { Cluster } from './cluster.js';
import { FlushIncompleteError } from './errors/flush-incomplete-error.js';
import { NodeRequestError } from './errors/node-request-error.js';
import { asError } from './results.js';
import { countFailover } from './telemetry-call.js';
import type { CallTrace } from './telemetry-call.js';
import type { BatchOp, BatchResult } from './wire.js';

/**
 * Empties every node, those marked down included: a node wrongly thought down, or back since,
 * would otherwise keep serving what the caller meant to remove. The flush is a batch operation so
 * that it queues behind what was issued to that node before it (a replica write still on its way
 * after a 'one' acknowledgement, say) and cannot overtake it. Rejects with FlushIncompleteError,
 * after every node has answered or failed, when any node was not emptied.
 */
export async function flushEveryNode(
  cluster: Cluster,
  queued: boolean,
  trace?: CallTrace,
): Promise<void> {
  cluster.flushStarted();
  // One stamp for every node: a node that gets the flush late (paused when it was sent) refuses
  // copies of writes made before it, not the hints of those made after it while it was away.
  const op: BatchOp = ['flush', null, cluster.clock.tick()];
  const failed: string[] = [];
  const errors: Error[] = [];
  const flushed: string[] = [];
  await Promise.all(
    cluster.nodes.map(async (node) => {
      let result: BatchResult;
      try {
        if (trace !== undefined) trace.nodesTried++;
        result = await node.run(op, queued, trace);
      } catch (error) {
        countFailover(trace, error);
        failed.push(node.url);
        errors.push(asError(error));
        return;
      }
      if (result[0] === 204) {
        flushed.push(node.url);
        return;
      }
      failed.push(node.url);
      errors.push(refusal(node.url, result));
    }),
  );
  if (failed.length > 0) throw new FlushIncompleteError(failed, errors, flushed);
}

/** A node that answered the flush with something else: an older node answers 400 `bad_op`. */
function refusal(node: string, [status, code, message]: BatchResult): NodeRequestError {
  if (typeof code !== 'string') return new NodeRequestError(node, `flush answered ${status}`);
  const detail = typeof message === 'string' ? ` ${message}` : '';
  return new NodeRequestError(node, `flush refused: ${code} (${status})${detail}`, {
    status: typeof status === 'number' ? status : undefined,
    code,
  });
}
