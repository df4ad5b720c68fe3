// What auto-batching did, counted per node by its batcher and summed by the cluster: enough to
// tell the mean batch size and how many batches were on the wire at once.

/** This client's batching counters, since it was created (nodes removed since not included). */
export interface BatchingStats {
  /** Batches sent (`POST /v1/batch` requests the batchers made). */
  batches: number;
  /** Operations those batches carried: `operations / batches` is the mean batch size. */
  operations: number;
  /**
   * Batches on the wire integrated over time, in batch·milliseconds, summed over nodes: its growth
   * over an interval divided by the interval's milliseconds and the node count is the mean number
   * of batches in flight per node.
   */
  inFlightMs: number;
}

/** Adds `from` into `into` (the cluster's sum over its nodes' batchers). */
export function addBatchingStats(into: BatchingStats, from: BatchingStats): void {
  into.batches += from.batches;
  into.operations += from.operations;
  into.inFlightMs += from.inFlightMs;
}
