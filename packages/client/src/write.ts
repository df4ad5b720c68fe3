import type { NodeClient } from './node-client.js';
import type { Cluster } from './cluster.js';
import { asError } from './results.js';
import type { BatchOp, BatchResult } from './wire.js';

export interface WriteOutcome {
  /** Results that counted as acknowledgements. */
  acks: number;
  /** Every result received so far, with its node. */
  results: { node: NodeClient; result: BatchResult }[];
  /** Nodes whose request failed. */
  errors: Error[];
}

/**
 * Sends `op` to every node in parallel and resolves as soon as `required` results satisfy `isAck`,
 * or once all have settled. The writes still running at that point are never abandoned: they are
 * tracked by the cluster (close() waits for them) and their failures feed the failure detector.
 */
export function writeReplicas(
  cluster: Cluster,
  nodes: readonly NodeClient[],
  op: BatchOp,
  required: number,
  queued: boolean,
  isAck: (result: BatchResult) => boolean = (result) => result[0] === 204,
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { acks: 0, results: [], errors: [] };
  if (nodes.length === 0) return Promise.resolve(outcome);
  return new Promise((resolve) => {
    let pending = nodes.length;
    let resolved = false;
    const settle = (): void => {
      pending--;
      if (!resolved && (outcome.acks >= required || pending === 0)) {
        resolved = true;
        // A snapshot: later results must not change what the caller was told.
        resolve({ acks: outcome.acks, results: [...outcome.results], errors: [...outcome.errors] });
      }
    };
    const all = nodes.map((node) =>
      node.run(op, queued).then(
        (result) => {
          if (isAck(result)) outcome.acks++;
          outcome.results.push({ node, result });
          settle();
        },
        (error: unknown) => {
          outcome.errors.push(asError(error));
          settle();
        },
      ),
    );
    cluster.track(Promise.all(all));
  });
}
