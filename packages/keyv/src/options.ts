import { DistributedCacheClient } from '@dcache/client';
import type { ClientOptions, NodeSpec } from '@dcache/client';

export interface DcacheKeyvStoreOptions {
  /**
   * A client you made: the store uses it and leaves it open (you close it). Give `client` or
   * `nodes`, not both.
   */
  client?: DistributedCacheClient;
  /**
   * Node URLs (or `{ url, weight }`), or a discovery URL (`dns+srv://…`, as the client takes): the
   * store makes its own client from them and `clientOptions`, and `disconnect()` closes it. Give
   * `client` or `nodes`, not both.
   */
  nodes?: readonly NodeSpec[] | string;
  /** Options of the client the store makes from `nodes`. @default {} */
  clientOptions?: ClientOptions;
  /**
   * When false, a failure of the cluster (a `DcacheError`: no replica reachable, a node refusing)
   * is emitted on `'error'` and the call resolves as a miss (`get` → undefined, `set` → false);
   * when true the call rejects with it instead and nothing is emitted. Bad arguments always reject.
   * @default false
   */
  throwOnErrors?: boolean;
  /**
   * How long, in milliseconds, this process reuses a namespace's generation before reading it
   * again (see README "How clear() works"): a `clear()` made in another process takes effect here
   * within this time; one made in this process at once. 0 reads it before every operation.
   * @default 1000
   */
  generationCacheMs?: number;
}

/** The options once checked, with defaults applied. */
export interface ResolvedStoreOptions {
  client: DistributedCacheClient;
  /** True when the store made the client, so `disconnect()` closes it. */
  ownsClient: boolean;
  throwOnErrors: boolean;
  generationCacheMs: number;
}

const KNOWN = new Set(['client', 'nodes', 'clientOptions', 'throwOnErrors', 'generationCacheMs']);

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/**
 * Checks the options and makes the client when `nodes` is given. `onClientError` receives the
 * background errors of a client the store makes (replica writes and read repairs no call waits for).
 */
export function resolveStoreOptions(
  options: DcacheKeyvStoreOptions,
  onClientError: (error: Error) => void,
): ResolvedStoreOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`DcacheKeyvStore: options must be an object, got ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!KNOWN.has(name)) throw new TypeError(`DcacheKeyvStore: unknown option "${name}"`);
  }
  const { client, nodes, clientOptions, throwOnErrors = false, generationCacheMs = 1000 } = options;
  if (typeof throwOnErrors !== 'boolean') {
    throw new TypeError(
      `DcacheKeyvStore: option throwOnErrors must be a boolean, got ${describe(throwOnErrors)}`,
    );
  }
  if (
    typeof generationCacheMs !== 'number' ||
    !Number.isFinite(generationCacheMs) ||
    generationCacheMs < 0
  ) {
    throw new RangeError(
      `DcacheKeyvStore: option generationCacheMs must be a number of milliseconds ≥ 0, got ${describe(generationCacheMs)}`,
    );
  }
  if ((client === undefined) === (nodes === undefined)) {
    throw new TypeError('DcacheKeyvStore: give exactly one of the options client and nodes');
  }
  if (client !== undefined) {
    if (!(client instanceof DistributedCacheClient)) {
      throw new TypeError(
        `DcacheKeyvStore: option client must be a DistributedCacheClient, got ${describe(client)}`,
      );
    }
    if (clientOptions !== undefined) {
      throw new TypeError(
        'DcacheKeyvStore: option clientOptions applies only with nodes (configure your client instead)',
      );
    }
    return { client, ownsClient: false, throwOnErrors, generationCacheMs };
  }
  // A string is a discovery URL: the client checks it, naming nodes and the value.
  if (!Array.isArray(nodes) && typeof nodes !== 'string') {
    throw new TypeError(
      `DcacheKeyvStore: option nodes must be an array or a discovery URL, got ${describe(nodes)}`,
    );
  }
  if (
    clientOptions !== undefined &&
    (typeof clientOptions !== 'object' || clientOptions === null || Array.isArray(clientOptions))
  ) {
    throw new TypeError(
      `DcacheKeyvStore: option clientOptions must be an object, got ${describe(clientOptions)}`,
    );
  }
  const given = clientOptions ?? {};
  const hook: unknown = given.onBackgroundError;
  // A hook that is no function goes to the client as given, which refuses it naming it: wrapped,
  // it would pass the client's check and throw at the first background error instead.
  const made = new DistributedCacheClient(
    nodes,
    hook !== undefined && typeof hook !== 'function'
      ? given
      : {
          ...given,
          onBackgroundError(error, context) {
            onClientError(error);
            given.onBackgroundError?.(error, context);
          },
        },
  );
  return { client: made, ownsClient: true, throwOnErrors, generationCacheMs };
}
