import { CacheServer } from './cache-server.js';
import { parseCli, usage } from './cli-args.js';
import { isSnapshotError } from './errors/snapshot-error.js';
import { isUsageError } from './errors/usage-error.js';
import { createLogger } from './logger.js';
import { formatSize } from './size.js';
import { VERSION } from './version.js';

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
  const log = createLogger(server.options.logLevel);
  let url: string;
  let memcached: { host: string; port: number } | undefined;
  try {
    ({ url, memcached } = await server.listen(cli.listen));
  } catch (error) {
    process.stderr.write(
      `dcache-server: cannot listen on ${cli.listen.host}:${cli.listen.port}: ${(error as Error).message}\n`,
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
  process.stdout.write(
    `dcache-server ${VERSION} listening on ${url} (node ${server.options.nodeId}, max memory ${formatSize(server.options.maxMemory)}${memcachedNote})\n`,
  );

  const signal = await signalled;
  log.info(`${signal}: finishing in-flight requests, then exiting`);
  // A second signal means "now": skip the graceful wait.
  const force = (): never => process.exit(1);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  try {
    await server.close();
  } catch (error) {
    if (!isSnapshotError(error)) throw error;
    process.stderr.write(`dcache-server: ${error.message}\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`dcache-server: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
