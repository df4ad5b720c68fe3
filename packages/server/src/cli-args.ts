import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from './errors/usage-error.js';
import type { ListenOptions } from './cache-server.js';
import type { LogLevel, ServerOptions } from './options.js';
import { DEFAULTS, LOG_LEVELS, resolveOptions } from './options.js';
import { MAX_TIMER_MS } from './timer-limit.js';
import { defaultMaxConnections } from './fd-limit.js';
import { parseSize } from './size.js';
import { REPLICATION_DEFAULTS } from './replication/replication-options.js';

/** Default TCP port of the CLI (the programmatic `listen()` defaults to 0, an ephemeral port). */
export const DEFAULT_PORT = 8001;
export const DEFAULT_HOST = '127.0.0.1';

/** `switch` is a flag without a value (its variable takes 1/true or 0/false). */
type Kind = 'port' | 'string' | 'size' | 'int' | 'level' | 'file' | 'switch' | 'list';

interface Flag {
  name: string;
  short?: string;
  kind: Kind;
  /** The ServerOptions key it sets, or a listen/TLS destination. */
  target: keyof ServerOptions | 'port' | 'host' | 'tlsCert' | 'tlsKey';
  help: string;
  default?: string;
  /** An `int` flag's largest value, when less than 2^53 − 1 (a timer's 2^31 − 1 ms). */
  max?: number;
}

/** Every flag, its env var (DCACHE_ + upper snake case) and help line come from this table. */
export const FLAGS: readonly Flag[] = [
  {
    name: 'port',
    short: 'p',
    kind: 'port',
    target: 'port',
    help: 'TCP port (0 = any free port)',
    default: `${DEFAULT_PORT}`,
  },
  {
    name: 'host',
    kind: 'string',
    target: 'host',
    help: 'interface to bind; 0.0.0.0 or :: to serve other hosts',
    default: DEFAULT_HOST,
  },
  {
    name: 'max-memory',
    short: 'm',
    kind: 'size',
    target: 'maxMemory',
    help: 'cache memory limit (kb/mb/gb are powers of 1024)',
    default: DEFAULTS.maxMemory,
  },
  {
    name: 'max-items',
    kind: 'int',
    target: 'maxItems',
    help: 'limit on the number of entries',
    default: 'unlimited',
  },
  {
    name: 'default-ttl',
    kind: 'int',
    target: 'defaultTtl',
    help: 'TTL in ms for writes without one; 0 = never expire',
    default: `${DEFAULTS.defaultTtl}`,
  },
  {
    name: 'max-key-bytes',
    kind: 'int',
    target: 'maxKeyBytes',
    help: 'longest key in UTF-8 bytes',
    default: `${DEFAULTS.maxKeyBytes}`,
  },
  {
    name: 'max-value-bytes',
    kind: 'size',
    target: 'maxValueBytes',
    help: 'largest value (413 beyond)',
    default: DEFAULTS.maxValueBytes,
  },
  {
    name: 'max-batch-ops',
    kind: 'int',
    target: 'maxBatchOps',
    help: 'most operations in one POST /v1/batch',
    default: `${DEFAULTS.maxBatchOps}`,
  },
  {
    name: 'max-batch-bytes',
    kind: 'size',
    target: 'maxBatchBytes',
    help: 'largest POST /v1/batch body',
    default: DEFAULTS.maxBatchBytes,
  },
  {
    name: 'token',
    kind: 'string',
    target: 'token',
    help: 'require Authorization: Bearer <token> (all routes but /healthz)',
    default: 'none',
  },
  {
    name: 'node-id',
    kind: 'string',
    target: 'nodeId',
    help: 'name of this node in stats and metrics',
    default: 'random node-xxxxxx',
  },
  {
    name: 'log-level',
    kind: 'level',
    target: 'logLevel',
    help: LOG_LEVELS.join(' | '),
    default: DEFAULTS.logLevel,
  },
  {
    name: 'log-format',
    kind: 'string',
    target: 'logFormat',
    help: 'plain (for humans) | json (one object per line)',
    default: DEFAULTS.logFormat,
  },
  {
    name: 'memcached-port',
    kind: 'port',
    target: 'memcachedPort',
    help: 'also speak the memcached protocol on this port (on --memcached-host, same cache)',
    default: 'off',
  },
  {
    name: 'max-connections',
    kind: 'int',
    target: 'maxConnections',
    help: 'most simultaneous HTTP connections (the memcached port: --memcached-max-connections)',
    default: 'what fits ulimit -n, at most 1024',
  },
  {
    name: 'idle-timeout',
    kind: 'int',
    max: MAX_TIMER_MS,
    target: 'idleTimeout',
    help: 'close memcached connections idle this many ms; 0 = never',
    default: `${DEFAULTS.idleTimeout}`,
  },
  {
    name: 'snapshot-file',
    kind: 'string',
    target: 'snapshotFile',
    help: 'warm restarts: load the cache from this file at start, save it at SIGTERM/SIGINT',
    default: 'none',
  },
  {
    name: 'max-inflight-body-bytes',
    kind: 'size',
    target: 'maxInflightBodyBytes',
    help: 'request-body bytes held at once, and unread response bytes (503 beyond)',
    default: `${DEFAULTS.maxInflightBodyBytes}, or the largest batch or value`,
  },
  {
    name: 'headers-timeout',
    kind: 'int',
    max: MAX_TIMER_MS,
    target: 'headersTimeout',
    help: 'ms an HTTP client has to send the request headers (or TLS handshake)',
    default: `${DEFAULTS.headersTimeout}`,
  },
  {
    name: 'request-timeout',
    kind: 'int',
    max: MAX_TIMER_MS,
    target: 'requestTimeout',
    help: 'ms an HTTP client has to send a whole request, or to take a response',
    default: `${DEFAULTS.requestTimeout}`,
  },
  {
    name: 'keep-alive-timeout',
    kind: 'int',
    max: MAX_TIMER_MS,
    target: 'keepAliveTimeout',
    help: 'ms an idle HTTP keep-alive connection stays open',
    default: `${DEFAULTS.keepAliveTimeout}`,
  },
  {
    name: 'tls-cert',
    kind: 'file',
    target: 'tlsCert',
    help: 'PEM certificate file: serve HTTPS (needs --tls-key)',
  },
  {
    name: 'tls-key',
    kind: 'file',
    target: 'tlsKey',
    help: 'PEM private key file (needs --tls-cert)',
  },
  {
    name: 'memcached-host',
    kind: 'string',
    target: 'memcachedHost',
    help: 'interface the memcached port binds, whatever --host is',
    default: DEFAULTS.memcachedHost,
  },
  {
    name: 'memcached-max-connections',
    kind: 'int',
    target: 'memcachedMaxConnections',
    help: 'most simultaneous memcached connections; by default (open-file limit - 64) / 2, at most 1024',
    default: `${defaultMaxConnections()}`,
  },
  {
    name: 'memcached-max-unsent-bytes',
    kind: 'size',
    target: 'memcachedMaxUnsentBytes',
    help: 'memcached replies not yet read by clients, node-wide, before big holders stop being read',
    default: DEFAULTS.memcachedMaxUnsentBytes,
  },
  {
    name: 'memcached-auth-file',
    kind: 'string',
    target: 'memcachedAuthFile',
    help: 'user:password lines; clients must log in first (memcached -Y ASCII auth)',
    default: 'none',
  },
  {
    name: 'memcached-tls',
    kind: 'switch',
    target: 'memcachedTls',
    help: 'serve the memcached port over TLS with --tls-cert/--tls-key (memcached -Z)',
    default: 'off',
  },
  {
    name: 'shutdown-grace',
    kind: 'int',
    target: 'shutdownGrace',
    help: 'ms to keep serving after SIGTERM/SIGINT before stopping, so clients still find a leaving node',
    default: `${DEFAULTS.shutdownGrace}`,
  },
  {
    name: 'tombstone-grace',
    kind: 'int',
    target: 'tombstoneGrace',
    help: 'ms a delete is remembered, so an older copy arriving later loses to it',
    default: `${REPLICATION_DEFAULTS.tombstoneGrace}`,
  },
  {
    name: 'max-clock-skew',
    kind: 'int',
    target: 'maxClockSkew',
    help: 'refuse write stamps further ahead of this node clock than this many ms',
    default: `${REPLICATION_DEFAULTS.maxClockSkew}`,
  },
  {
    name: 'stall-threshold',
    kind: 'int',
    target: 'stallThreshold',
    help: 'an event-loop stop longer than this many ms (SIGSTOP) fences the node; 0 = never',
    default: `${REPLICATION_DEFAULTS.stallThreshold}`,
  },
  {
    name: 'trust-snapshot',
    kind: 'switch',
    target: 'trustSnapshot',
    help: 'serve restored entries without verification (single node, memcached-only clients)',
    default: 'off',
  },
  {
    name: 'max-hints',
    kind: 'int',
    target: 'maxHints',
    help: 'keys held for nodes that missed writes; past it their target is fenced instead',
    default: `${REPLICATION_DEFAULTS.maxHints}`,
  },
  {
    name: 'max-hint-age',
    kind: 'int',
    target: 'maxHintAge',
    help: 'ms a hint is kept before its target is fenced instead',
    default: `${REPLICATION_DEFAULTS.maxHintAge}`,
  },
  {
    name: 'restore-claim-lease',
    kind: 'int',
    target: 'restoreClaimLease',
    help: 'ms a client holds the restore of this node start without renewing it, then another may',
    default: `${REPLICATION_DEFAULTS.restoreClaimLease}`,
  },
  {
    name: 'peers',
    kind: 'list',
    target: 'peers',
    help: 'comma-separated http(s)://host:port: the only nodes hints may be sent to',
    default: 'any',
  },
  {
    name: 'allowed-hosts',
    kind: 'list',
    target: 'allowedHosts',
    help: 'comma-separated Host names served besides IP addresses, localhost and names under .localhost .test .local .home.arpa .internal (.example.com: a domain; *: any); checked always on loopback, else only when set',
  },
];

export function envName(flag: string): string {
  return `DCACHE_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export type CliCommand =
  | { command: 'help' }
  | { command: 'version' }
  | { command: 'run'; options: ServerOptions; listen: Required<ListenOptions> };

export function usage(): string {
  const rows = FLAGS.map((f) => {
    const value = f.kind === 'switch' ? '' : ' <value>';
    const left = `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
    const def = f.default === undefined ? '' : ` (default: ${f.default})`;
    return `  ${left.padEnd(30)} ${f.help}${def}\n  ${''.padEnd(30)} env ${envName(f.name)}`;
  });
  return [
    'Usage: dcache-server [options]',
    '',
    'Runs one dcache node: an LRU cache behind an HTTP API. Flags override environment variables',
    '(--no-<switch> turns a switch off that its variable turned on).',
    '',
    'Options:',
    ...rows,
    `  ${'-h, --help'.padEnd(30)} show this help`,
    `  ${'-v, --version'.padEnd(30)} show the version`,
    '',
    'Warm restarts (--snapshot-file): at SIGTERM/SIGINT, once in-flight requests are done, the',
    'node writes every live entry (bytes, flags, remaining TTL, version, LRU order) to the file:',
    'to a temporary file in the same directory, fsynced, then renamed over it, so a crash never',
    'leaves half a snapshot. At start it loads the file before listening; TTLs keep running while',
    'the node is down. A missing file starts empty; an unreadable or invalid one is logged as an',
    'error, moved aside to FILE.unreadable and the node starts empty. No version (ETag, cas)',
    'handed out before a graceful restart matches after it, even for an unchanged entry; after a',
    'crash, none does if the crashed run averaged under 1000 writes per ms and the clock did not',
    'go back (FILE.fence records the version counter at each start). POST /v1/snapshot saves now.',
    'A failed save at shutdown exits 1 and leaves the previous file intact. Restored entries are',
    'unverified until a replica vouches for them: @dcache/client checks them, GETs and the',
    'memcached port answer them as misses. A lone node, or one only curl or memcached clients',
    'use, wants --trust-snapshot too.',
    '',
    'Example: npx @dcache/server --port 8001 --max-memory 100mb',
    '',
  ].join('\n');
}

function convert(flag: Flag, source: string, raw: string): unknown {
  const fail = (why: string): never => {
    throw new UsageError(source, `${source} ${why}, got ${JSON.stringify(raw)}`);
  };
  switch (flag.kind) {
    case 'port': {
      const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
      return port >= 0 && port <= 65535 ? port : fail('must be a port number from 0 to 65535');
    }
    case 'int': {
      // Up to 2^53 − 1, the largest whole number a double holds exactly, or the flag's own `max`.
      // No lower bound is named: the options check each flag's own range (--max-items takes ≥ 1,
      // --default-ttl 0).
      const max = flag.max ?? Number.MAX_SAFE_INTEGER;
      const value = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
      return Number.isSafeInteger(value) && value <= max
        ? value
        : fail(`must be a whole number no larger than ${max}`);
    }
    case 'size':
      try {
        return parseSize(source, raw);
      } catch (error) {
        throw new UsageError(source, (error as Error).message, { cause: error });
      }
    case 'level':
      return (LOG_LEVELS as readonly string[]).includes(raw)
        ? (raw as LogLevel)
        : fail(`must be one of ${LOG_LEVELS.join(', ')}`);
    case 'switch':
      if (/^(1|true|on|yes)$/i.test(raw)) return true;
      return /^(0|false|off|no)$/i.test(raw) ? false : fail('must be 1/true or 0/false');
    case 'file':
      try {
        return readFileSync(raw);
      } catch (error) {
        throw new UsageError(source, `${source}: cannot read ${raw}: ${(error as Error).message}`, {
          cause: error,
        });
      }
    case 'list': {
      const items = raw.split(',').map((item) => item.trim());
      return items.every((item) => item.length > 0)
        ? items
        : fail('must be a comma-separated list');
    }
    default:
      return raw.length > 0 ? raw : fail('must not be empty');
  }
}

/**
 * Turns argv and the environment into a command. Throws a UsageError naming the flag (or the
 * variable) for anything wrong, including option values the server itself would refuse.
 */
export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliCommand {
  const spec: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean', short: 'v' },
  };
  for (const f of FLAGS) {
    const type = f.kind === 'switch' ? 'boolean' : 'string';
    spec[f.name] = f.short ? { type, short: f.short } : { type };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: spec,
      strict: true,
      allowPositionals: false,
      // `--no-trust-snapshot`: a switch turned on by its variable can be turned off by a flag.
      allowNegative: true,
    }));
  } catch (error) {
    const message = (error as Error).message;
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? /"([^"]+)"/.exec(message)?.[1] ?? 'argument';
    throw new UsageError(flag, message.split('\n')[0]!, { cause: error });
  }
  if (values.help) return { command: 'help' };
  if (values.version) return { command: 'version' };

  const set: Record<string, unknown> = {};
  const sourceOf = new Map<string, string>();
  for (const f of FLAGS) {
    const fromFlag = values[f.name];
    // An empty variable is unset (as shells and compose files often leave them), not a bad value.
    const fromEnv = env[envName(f.name)] || undefined;
    const given = typeof fromFlag === 'boolean' ? String(fromFlag) : fromFlag;
    const raw = typeof given === 'string' ? given : fromEnv;
    if (raw === undefined) continue;
    const source =
      typeof given !== 'string'
        ? envName(f.name)
        : fromFlag === false
          ? `--no-${f.name}`
          : `--${f.name}`;
    set[f.target] = convert(f, source, raw);
    sourceOf.set(f.target, source);
  }
  const { port = DEFAULT_PORT, host = DEFAULT_HOST, tlsCert, tlsKey, ...rest } = set;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    const missing = tlsCert === undefined ? '--tls-cert' : '--tls-key';
    throw new UsageError(
      missing,
      `${missing} is required with ${tlsCert === undefined ? '--tls-key' : '--tls-cert'}`,
    );
  }
  const options = { ...rest } as ServerOptions;
  if (tlsCert !== undefined) {
    options.tls = { cert: tlsCert as Buffer, key: tlsKey as Buffer };
    sourceOf.set('tls', sourceOf.get('tlsCert')!);
    // A message about the key alone (an empty key file) names the key's flag, not the cert's.
    sourceOf.set('tls.cert', sourceOf.get('tlsCert')!);
    sourceOf.set('tls.key', sourceOf.get('tlsKey')!);
  }
  try {
    resolveOptions(options); // surface the server's own checks now, named by flag
  } catch (error) {
    const option = /^\w+(?:\.\w+)?/.exec((error as Error).message)?.[0] ?? '';
    const source = sourceOf.get(option) ?? 'options';
    throw new UsageError(source, `${source}: ${(error as Error).message}`, { cause: error });
  }
  return { command: 'run', options, listen: { host: host as string, port: port as number } };
}
