export { DISCOVERY_WARNING, DistributedCacheClient } from './client.js';
export type { CallOptions, IncrOptions, SetOptions, VersionedValue } from './client.js';
export type {
  ClientOptions,
  DiscoveryOptions,
  NodeSpec,
  TransitionOptions,
  ValueEncoding,
  WriteConsistency,
} from './options.js';
export type { PemInput, TlsOptions } from './tls-options.js';
export type {
  BackgroundErrorContext,
  BackgroundOperation,
  ClientHooks,
  DiscoveryFailure,
  MembershipChange,
  MembershipSource,
} from './hooks.js';
export type { DiscoveryStats } from './discovery.js';
export type { Loader } from './get-or-set.js';
export type { ClusterStats, ClusterTotals, NodeStats, NodeStatus } from './stats.js';
export type { ReplicationStats } from './replication-stats.js';
export type { TransitionCloseReason, TransitionEvent, TransitionStats } from './transition.js';
export type { BatchingStats } from './batching-stats.js';
export { FLAGS_JSON, FLAGS_MSGPACK, FLAGS_OCTET_STREAM, FLAGS_TEXT } from './codec.js';
export { DcacheError, isDcacheError } from './errors/dcache-error.js';
export { NodeRequestError, isNodeRequestError } from './errors/node-request-error.js';
export { NodeTimeoutError, isNodeTimeoutError } from './errors/node-timeout-error.js';
export {
  OperationRejectedError,
  isOperationRejectedError,
} from './errors/operation-rejected-error.js';
export {
  CacheUnavailableError,
  isCacheUnavailableError,
} from './errors/cache-unavailable-error.js';
export { FlushIncompleteError, isFlushIncompleteError } from './errors/flush-incomplete-error.js';
export { DiscoveryError, isDiscoveryError } from './errors/discovery-error.js';
