import { DcacheError } from './dcache-error.js';

/**
 * `flush()` could not empty every node. The nodes in `flushed` were emptied; those in `nodes` were
 * not (each one's failure at the same index of `errors`) and may still serve what they held.
 */
export class FlushIncompleteError extends DcacheError {
  /** The nodes that were not flushed. */
  readonly nodes: readonly string[];
  readonly errors: readonly Error[];
  /** The nodes that were. */
  readonly flushed: readonly string[];

  constructor(nodes: readonly string[], errors: readonly Error[], flushed: readonly string[]) {
    const why = errors.map((error) => error.message).join('; ');
    super(
      `flush emptied ${flushed.length} of ${flushed.length + nodes.length} nodes; not ${nodes.join(', ')}: ${why}`,
      { cause: errors[0] },
    );
    this.name = 'FlushIncompleteError';
    this.nodes = nodes;
    this.errors = errors;
    this.flushed = flushed;
  }
}

export function isFlushIncompleteError(error: unknown): error is FlushIncompleteError {
  return (
    error instanceof FlushIncompleteError ||
    (error instanceof Error && error.name === 'FlushIncompleteError')
  );
}
