import { CacheServer } from './cache-server.js';
import { parseCli, usage } from './cli-args.js';
import { isSnapshotError } from './errors/snapshot-error.js';
import { isUsageError } from './errors/usage-error.js';
import { createLogger, jsonLine } from './observability/logger.js';
import { MAX_TIMER_MS } from './timer-limit.js';
import type { LogEvent, LogFields } from './observability/logger.js';
import type { ResolvedOptions } from './options.js';
import { formatSize } from './size.js';
import { VERSION } from './version.js';

/** Writes `text` as JSON lines when the process logs in JSON; before options are known, as is. */
let say = (
  stream: NodeJS.WriteStream,
  text: string,
  _event?: LogEvent,
  _fields?: LogFields,
): void => {
  stream.write(`${text}\n`);
};

/**
 * The lines the CLI always writes, whatever `--log-level`: in `json` format each is a JSON line
 * with an event (the text becomes `msg`), so a collector reading stdout and stderr gets no line
 * it cannot parse. An error line (stderr) has level `error`, the listening line (stdout) `info`.
 */
function sayIn(options: ResolvedOptions): typeof say {
  if (options.logFormat === 'plain') return say;
  return (stream, text, event = 'fatal', fields) => {
    const level = stream === process.stdout ? 'info' : 'error';
    stream.write(jsonLine(level, options.nodeId, event, text, fields));
  };
}

/**
 * Exit codes: 0 after a clean stop, 1 when the node cannot start or cannot save its snapshot at
 * shutdown, 2 for bad flags.
 */
async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(process.argv.slice(2), process.env);
  } catch (error) {
    if (!isUsageError(error)) throw error;
    process.stderr.write(`dcache-server: ${error.message}\nRun dcache-server --help for usage.\n`);
    return 2;
  }
  if (cli.command === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (cli.command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }

  const server = new CacheServer(cli.options);
  const log = createLogger({
    level: server.options.logLevel,
    format: server.options.logFormat,
    node: server.options.nodeId,
  });
  say = sayIn(server.options);
  if (server.options.logFormat === 'json') {
    // A crash is the line a collector most needs to parse: a `fatal` JSON line, not Node's text.
    process.on('uncaughtException', (error: unknown) => {
      say(process.stderr, `dcache-server: ${(error as Error)?.stack ?? String(error)}`, 'fatal');
      process.exit(1);
    });
  }
  let url: string;
  let memcached: { host: string; port: number } | undefined;
  try {
    ({ url, memcached } = await server.listen(cli.listen));
  } catch (error) {
    // Node's listen errors name the address that failed: the memcached port's, when it is that one.
    // A host that does not resolve fails in getaddrinfo instead, whose error names only the host.
    const { address, port, hostname } = error as {
      address?: unknown;
      port?: unknown;
      hostname?: unknown;
    };
    const { memcachedHost, memcachedPort } = server.options;
    let where = `${cli.listen.host}:${cli.listen.port}`;
    if (typeof address === 'string' && typeof port === 'number') where = `${address}:${port}`;
    else if (
      hostname !== cli.listen.host &&
      hostname === memcachedHost &&
      memcachedPort !== undefined
    ) {
      where = `${memcachedHost}:${memcachedPort}`;
    }
    say(
      process.stderr,
      `dcache-server: cannot listen on ${where}: ${(error as Error).message}`,
      'listen_failed',
    );
    return 1;
  }
  const memcachedNote = memcached
    ? `, memcached protocol on ${memcached.host}:${memcached.port}`
    : '';
  // Before the listening line: whoever reads it may signal at once (a test, a supervisor).
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  // A closed terminal (or ssh session) must not kill the node without its snapshot: SIGHUP is
  // ignored, as Redis and memcached ignore it.
  process.on('SIGHUP', () => {
    log.warn('sighup_ignored', 'SIGHUP ignored: send SIGTERM or SIGINT to stop the node');
  });
  // The same words in both formats: whoever waits for "listening on" finds it in `msg` too.
  say(
    process.stdout,
    `dcache-server ${VERSION} listening on ${url} (node ${server.options.nodeId}, max memory ${formatSize(server.options.maxMemory)}${memcachedNote})`,
    'listening',
    {
      url,
      version: VERSION,
      ...(memcached ? { memcached: `${memcached.host}:${memcached.port}` } : {}),
    },
  );

  const signal = await signalled;
  const grace = server.options.shutdownGrace;
  if (grace > 0) {
    log.info(
      'shutdown',
      `${signal}: serving for ${grace} ms more (--shutdown-grace), then stopping; a second signal stops now`,
      { signal },
    );
    await graceOver(grace);
  }
  log.info('shutdown', `${signal}: finishing in-flight requests, then exiting`, { signal });
  // A second signal means "now": skip the graceful wait.
  const force = (): never => process.exit(1);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await server.close();
  } catch (error) {
    if (!isSnapshotError(error)) throw error;
    say(process.stderr, `dcache-server: ${error.message}`, 'snapshot_save_failed', {
      file: error.file,
    });
    return 1;
  }
  return 0;
}

/**
 * The shutdown grace: a node leaving the ring keeps serving while clients' transition windows
 * still ask it for the keys it held (and invalidate them). Ends early at a second signal.
 */
function graceOver(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    // Past 2^31 - 1 ms Node fires a timer at once; so long a grace is "until the second signal".
    const timer = setTimeout(done, Math.min(ms, MAX_TIMER_MS));
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    say(process.stderr, `dcache-server: ${(error as Error)?.stack ?? String(error)}`, 'fatal');
    process.exitCode = 1;
  },
);
