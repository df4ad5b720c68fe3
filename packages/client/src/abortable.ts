// Per-call cancellation: `{ signal }` on every call lets the caller stop waiting (a request-scoped
// signal, or `AbortSignal.timeout(ms)` for a deadline over the whole call, failover included).

/** The callers waiting on each signal, so that a signal gets one abort listener however many calls share it. */
const waiting = new WeakMap<AbortSignal, Set<(reason: unknown) => void>>();

/** The `signal` of a call's options: undefined when none; a TypeError for anything else. */
export function signalOption(options: unknown): AbortSignal | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('options must be an object like { signal }');
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
