// The observability callbacks of ClientOptions, and the one way they are called.
import type { DiscoveryError } from './errors/discovery-error.js';
import type { TransitionEvent } from './transition.js';

/** Background work whose failure no caller sees, reported through `onBackgroundError`. */
export type BackgroundOperation = 'replica-write' | 'read-repair' | 'get-or-set-store' | 'restore';

export interface BackgroundErrorContext {
  /**
   * `'replica-write'`: a replica's copy of a write the call did not wait for or did not fail on
   * (after a `writeConsistency` acknowledgement, the copies of an add/replace/compareAndSet and
   * the replicas that failed before the one that decided it, a delete or touch another replica
   * answered, the touch of the other replicas after a `getAndTouch`, an incr/decr replica that
   * failed, refused or lacked the counter while another counted); `'read-repair'`: writing a
   * value found on a replica back to a node that missed it; `'get-or-set-store'`: storing a value
   * `getOrSet` loaded; `'restore'`: copying a node's keys to a node back up or to a key's new
   * replica after `removeNode` (key `''`: the listing of `node` failed, not one key).
   */
  operation: BackgroundOperation;
  key: string;
  /** The node that failed or refused; absent when no single node is to blame (none reachable). */
  node?: string;
}

/** Who changed the membership: `addNode`/`removeNode`, or a DNS lookup that found other nodes. */
export type MembershipSource = 'addNode' | 'removeNode' | 'discovery';

export interface MembershipChange {
  /** Nodes that joined the ring (their share of keys moved to them). */
  added: string[];
  /** Nodes that left the ring. */
  removed: string[];
  /** The ring's nodes now, sorted. */
  nodes: string[];
  source: MembershipSource;
}

export interface DiscoveryFailure {
  /** Failed lookups in a row, this one included. */
  consecutiveFailures: number;
  /** The nodes kept from the last good lookup (empty before one). */
  nodes: string[];
}

export interface ClientHooks {
  /**
   * Called when the failure detector marks `node` down (`failureThreshold` failures in a row),
   * with the error of the last failed request.
   * @default undefined
   */
  onNodeDown?: (node: string, error: Error) => void;
  /**
   * Called when a node marked down is up again (a probe, or a request to it, succeeded).
   * @default undefined
   */
  onNodeUp?: (node: string) => void;
  /**
   * Called for failures no call reports: replica writes still running after the call resolved,
   * read repairs, the store of a value `getOrSet` loaded.
   * @default undefined
   */
  onBackgroundError?: (error: Error, context: BackgroundErrorContext) => void;
  /**
   * Called once the ring's membership has changed — by `addNode`, `removeNode` or DNS discovery —
   * after the ring has.
   * @default undefined
   */
  onMembershipChange?: (change: MembershipChange) => void;
  /**
   * Called when a DNS discovery lookup fails, times out or finds no node; the client keeps the
   * nodes it had. Without it, the first failure after a good lookup becomes a process warning
   * (code DCACHE_DISCOVERY_FAILED).
   * @default undefined
   */
  onDiscoveryError?: (error: DiscoveryError, failure: DiscoveryFailure) => void;
  /**
   * Called when a warm-transition window opens (a ring change, with the nodes it added and
   * removed) and when it closes (`reason`: `'quiet'`, `'max-window'` or `'flush'`, with every node
   * added and removed while it was open), with `getStats().transition` as it is then.
   * @default undefined
   */
  onTransition?: (event: TransitionEvent) => void;
}

/** Code of the process warning a throwing (or rejecting) hook becomes. */
export const HOOK_ERROR_WARNING = 'DCACHE_HOOK_ERROR';

function warn(name: string, error: unknown): void {
  const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.emitWarning(`client option "${name}" threw; the client carried on`, {
    code: HOOK_ERROR_WARNING,
    detail,
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Calls a user hook after the client's own state is settled. A hook that throws, or returns a
 * promise that rejects, must not undo that state nor become an unhandled rejection (which would
 * end the process): its error becomes a process warning instead.
 */
export function callHook<A extends unknown[]>(
  name: keyof ClientHooks,
  hook: ((...args: A) => unknown) | undefined,
  ...args: A
): void {
  if (hook === undefined) return;
  try {
    const returned = hook(...args);
    if (isThenable(returned)) returned.then(undefined, (error: unknown) => warn(name, error));
  } catch (error) {
    warn(name, error);
  }
}
