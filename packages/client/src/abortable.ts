// Per-call cancellation: `{ signal }` on every call lets the caller stop waiting (a request-scoped
// signal, or `AbortSignal.timeout(ms)` for a deadline over the whole call, failover included).

/** The callers waiting on each signal, so that a signal gets one abort listener however many calls share it. */
const waiting = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

/** The options of a call: every call's, a storing call's (`ttl`) and incr/decr's (`initial`). */
export const CALL_OPTIONS: ReadonlySet<string> = new Set(['signal']);
export const SET_OPTIONS: ReadonlySet<string> = new Set(['signal', 'ttl']);
export const INCR_OPTIONS: ReadonlySet<string> = new Set(['signal', 'ttl', 'initial']);

/**
 * The `signal` of a call's options: undefined when none; a TypeError for anything else, and for an
 * option the call does not take (`known`).
 */
export function signalOption(
  options: unknown,
  known: ReadonlySet<string> = CALL_OPTIONS,
): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object like { signal }');
  }
  // A misspelt or foreign option ({ expires } from memjs, { TTL }) silently ignored would store a
  // value that never expires.
  for (const name of Object.keys(options)) {
    if (!known.has(name)) {
      throw new TypeError(`unknown option "${name}" (this call takes ${[...known].join(', ')})`);
    }
  }
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
}

/**
 * `work()`, unless the caller's signal aborts first: the promise then rejects with the signal's
 * reason (as fetch does) — at once, and without calling `work` at all when it had already aborted,
 * so nothing is sent. Work already issued is not undone: its requests complete (a write may still
 * land on some replicas, as with a dropped connection) and its outcome is no longer reported.
 */
export function abortable<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  if (signal === undefined) return work();
  if (signal.aborted) return Promise.reject(signal.reason as unknown);
  return new Promise<T>((resolve, reject) => {
    const stopWatching = watch(signal, reject);
    let running: Promise<T>;
    try {
      running = work();
    } catch (error) {
      // Rejects this promise; the signal must not keep a listener for it.
      stopWatching();
      throw error;
    }
    running.then(
      (value) => {
        stopWatching();
        resolve(value);
      },
      (error: unknown) => {
        stopWatching();
        reject(error);
      },
    );
  });
}

/**
 * Registers `cancel` for the signal's abort; returns its removal. One listener per signal, not per
 * call: Node warns of a leak past 10 listeners on an EventTarget, and callers commonly share one
 * request-scoped signal among many concurrent calls.
 */
function watch(signal: AbortSignal, cancel: (reason: unknown) => void): () => void {
  let cancels = waiting.get(signal);
  if (cancels === undefined) {
    cancels = new Set();
    waiting.set(signal, cancels);
    signal.addEventListener('abort', cancelAll, { once: true });
  }
  const own = cancels;
  own.add(cancel);
  return () => {
    own.delete(cancel);
    if (own.size === 0 && waiting.get(signal) === own) {
      waiting.delete(signal);
      signal.removeEventListener('abort', cancelAll);
    }
  };
}

function cancelAll(event: Event): void {
  const signal = event.target as AbortSignal;
  const cancels = waiting.get(signal);
  waiting.delete(signal);
  for (const cancel of cancels ?? []) cancel(signal.reason);
}

function describe(value: unknown): string {
  return value === null ? 'null' : typeof value === 'object' ? 'another object' : typeof value;
}
