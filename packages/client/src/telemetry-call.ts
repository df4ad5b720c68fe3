// One span per public call: what the operations report into it, and how it ends.
import { isNodeRequestError } from './errors/node-request-error.js';
import { tracing } from './telemetry.js';

/**
 * What a call uses of an OpenTelemetry span. Declared here rather than imported, so that the
 * client's published types (which reach this file) never name the optional peer: a project
 * without it installed must still type-check against them.
 */
interface RecordingSpan {
  setAttributes(attributes: Record<string, number | undefined>): unknown;
  setAttribute(key: string, value: string): unknown;
  setStatus(status: { code: number; message: string }): unknown;
  recordException(exception: Error): void;
  end(): void;
}

/**
 * What a call did on the way, counted by the operations (read.ts, write.ts, replicated-ops.ts)
 * when the call is traced; they are handed none otherwise.
 */
export interface CallTrace {
  /** Requests to nodes: one per replica asked, per key. */
  nodesTried: number;
  /** Replicas that failed (an error or a timeout, not a refusal) while the call ran. */
  failovers: number;
  /** Read repairs started: a value found on a replica written back to a node that missed it. */
  repairs: number;
  /** Operations in the largest node batch the call's operations rode in. */
  batchSize: number;
  /** Keys served possibly stale: by a replica read after their primary did not answer. */
  unvouchedReads: number;
}

/**
 * Counts a replica's failed request as a failover of the traced call, unless the node refused it
 * (a 4xx: a wrong token, a bad batch): that node is up and answered, and `dcache.failovers`
 * counts errors and timeouts only.
 */
export function countFailover(trace: CallTrace | undefined, error: unknown): void {
  if (trace !== undefined && !(isNodeRequestError(error) && error.refused)) trace.failovers++;
}

/** A traced call: a recording span and the counts it gets when it ends. */
export class CallSpan implements CallTrace {
  nodesTried = 0;
  failovers = 0;
  repairs = 0;
  batchSize = 0;
  unvouchedReads = 0;
  /** For reads: keys found, and keys missing. */
  hits: number | undefined;
  misses: number | undefined;
  readonly #span: RecordingSpan;

  constructor(span: RecordingSpan) {
    this.#span = span;
  }

  /** A read of `keys` keys found `hits` of them. */
  found(hits: number, keys: number): void {
    this.hits = hits;
    this.misses = keys - hits;
  }

  end(): void {
    const attributes: Record<string, number | undefined> = {
      'dcache.nodes_tried': this.nodesTried,
      'dcache.failovers': this.failovers,
      'dcache.read_repairs': this.repairs,
    };
    if (this.batchSize > 0) attributes['dcache.batch_size'] = this.batchSize;
    if (this.unvouchedReads > 0) attributes['dcache.unvouched_reads'] = this.unvouchedReads;
    if (this.hits !== undefined) {
      attributes['dcache.hits'] = this.hits;
      attributes['dcache.misses'] = this.misses;
    }
    this.#span.setAttributes(attributes);
    this.#span.end();
  }

  fail(error: unknown): void {
    const api = tracing!.api;
    const failure = error instanceof Error ? error : new Error(String(error));
    this.#span.recordException(failure);
    this.#span.setStatus({ code: api.SpanStatusCode.ERROR, message: failure.message });
    this.#span.setAttribute('error.type', failure.name);
    this.end();
  }
}

/**
 * Starts the span of a public call (`dcache.get`, …), a child of the active one; undefined when no
 * SDK is registered or the sampler dropped it, so an untraced call does no attribute work.
 */
export function startCall(operation: string, keys: number): CallSpan | undefined {
  const tracer = tracing?.tracer();
  if (tracer === undefined) return undefined;
  const span = tracer.startSpan(`dcache.${operation}`, {
    kind: tracing!.api.SpanKind.CLIENT,
    attributes: {
      'db.system.name': 'dcache',
      'db.operation.name': operation,
      'dcache.key_count': keys,
    },
  });
  return span.isRecording() ? new CallSpan(span) : undefined;
}

/**
 * `work`, ending the call's span when it settles: `outcome` adds what the result says (hits);
 * a rejection is recorded as the span's error. Untraced, `work` itself.
 */
export function traced<R>(
  call: CallSpan | undefined,
  work: Promise<R>,
  outcome?: (call: CallSpan, result: R) => void,
): Promise<R> {
  if (call === undefined) return work;
  return work.then(
    (result) => {
      outcome?.(call, result);
      call.end();
      return result;
    },
    (error: unknown) => {
      call.fail(error);
      throw error;
    },
  );
}
