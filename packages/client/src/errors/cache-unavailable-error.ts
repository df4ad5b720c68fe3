import { DcacheError } from './dcache-error.js';

/**
 * No replica of a key could be reached. `nodes` names every node tried (or skipped because it is
 * marked down) and `errors` keeps each node's own failure, like an AggregateError.
 */
export class CacheUnavailableError extends DcacheError {
  readonly key: string;
  readonly nodes: readonly string[];
  readonly errors: readonly Error[];

  constructor(key: string, nodes: readonly string[], errors: readonly Error[]) {
    const why = errors.length > 0 ? errors.map((e) => e.message).join('; ') : 'all marked down';
    super(`no replica of key "${key}" is reachable (tried ${nodes.join(', ')}): ${why}`, {
      cause: errors[0],
    });
    this.name = 'CacheUnavailableError';
    this.key = key;
    this.nodes = nodes;
    this.errors = errors;
  }
}

export function isCacheUnavailableError(error: unknown): error is CacheUnavailableError {
  return (
    error instanceof CacheUnavailableError ||
    (error instanceof Error && error.name === 'CacheUnavailableError')
  );
}
