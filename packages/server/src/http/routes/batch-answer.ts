import type { NodeState } from '../app-env.js';
import { errorJson, refusalOf } from '../../operations/refusal.js';
import type { RunBatch } from './batch-ops.js';
import type { FinishedResponse } from '../codec/msgpack-writer.js';
import { CLOCK_HEADER, START_HEADER } from './batch-ops.js';

/** One batch's answer, whichever door took it: status, headers as name/value pairs, body. */
export interface BatchAnswer {
  readonly status: number;
  readonly headers: readonly string[];
  /** The results (with room for a head before them), or a refusal's JSON. */
  readonly body: FinishedResponse | string;
}

/** What a door that reads batches itself (not through hono) answers with. */
export interface BatchAnswerer {
  /**
   * Runs a batch whose body is read whole, as the hono route would, counted in /metrics from
   * `start` (a `performance.now()` taken when the request arrived, after `metrics.start()`).
   */
  run(body: Uint8Array, requestId: string | undefined, start: number): BatchAnswer;
  /** The answer to `error` (counted and logged as the error handler would). */
  refusal(error: unknown, requestId: string | undefined): BatchAnswer;
}

export function batchAnswerer(node: NodeState, runBatch: RunBatch): BatchAnswerer {
  const { metrics } = node;
  const clock = node.replicas.clock;
  const started = `${node.replicas.startStamp}`;

  function refusal(error: unknown, requestId: string | undefined): BatchAnswer {
    const refused = refusalOf(node, error, { method: 'POST', path: '/v1/batch', requestId });
    const headers: string[] = [];
    for (const [name, value] of Object.entries(refused.headers ?? {})) headers.push(name, value);
    headers.push('content-type', 'application/json');
    return { status: refused.status, headers, body: errorJson(refused.code, refused.message) };
  }

  return {
    refusal,
    run(body, requestId, start) {
      let results: FinishedResponse;
      try {
        results = runBatch(body);
      } catch (error) {
        metrics.record('batch', performance.now() - start);
        return refusal(error, requestId);
      }
      metrics.record('batch', performance.now() - start);
      return {
        status: 200,
        headers: [
          'content-type',
          'application/msgpack',
          CLOCK_HEADER,
          `${clock.last}`,
          START_HEADER,
          started,
        ],
        body: results,
      };
    },
  };
}
