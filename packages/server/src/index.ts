export { createApp } from './http/app.js';
export type { AppEnv } from './http/app-env.js';
export { CacheServer } from './cache-server.js';
export type { ListenOptions, ServerAddress } from './cache-server.js';
export { STORED_VALUE_OVERHEAD_BYTES } from './operations/cache.js';
export { CONTENT_TYPES, encodingOfFlags } from './http/codec/encoding.js';
export type { Encoding } from './http/codec/encoding.js';
export { DcacheServerError, isDcacheServerError } from './errors/dcache-server-error.js';
export { HttpError, isHttpError } from './errors/http-error.js';
export { SnapshotError, isSnapshotError } from './errors/snapshot-error.js';
export { UsageError, isUsageError } from './errors/usage-error.js';
export { increment } from './operations/incr.js';
export type { Counted, CounterSeed } from './operations/incr.js';
export type { HintStats } from './replication/hints.js';
export { createMemcachedListener } from './memcached/index.js';
export { MemcachedCredentials } from './memcached/auth-file.js';
export type {
  MemcachedAddress,
  MemcachedCache,
  MemcachedListener,
  MemcachedListenerOptions,
  MemcachedStats,
} from './memcached/index.js';
export { DEFAULTS, resolveOptions } from './options.js';
export type { LogFormat, LogLevel, ResolvedOptions, ServerOptions } from './options.js';
export type { SnapshotSaved } from './snapshot/node-snapshot.js';
export { ReplicaStore } from './replication/replica-store.js';
export type {
  CopyOrigin,
  CopyOutcome,
  ReplicaStats,
  ReplicaStoreOptions,
  Touched,
  Written,
} from './replication/replica-store.js';
export { REPLICATION_DEFAULTS } from './replication/replication-options.js';
export type { ReplicationOptions } from './replication/replication-options.js';
export { formatSize, parseSize } from './size.js';
export {
  FLAGS_JSON,
  FLAGS_MSGPACK,
  FLAGS_OCTET_STREAM,
  FLAGS_TEXT,
} from './operations/stored-value.js';
export type { StoredValue } from './operations/stored-value.js';
export { VERSION } from './version.js';
