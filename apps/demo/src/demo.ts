import { DistributedCacheClient } from '@dcache/client';
import { Cluster } from './cluster.js';
import { DemoError } from './demo-error.js';
import { ClusterPoller } from './dashboard/cluster-poller.js';
import { startDashboard } from './dashboard/dashboard-server.js';
import type { Dashboard } from './dashboard/dashboard-server.js';
import { Narrator } from './narrator.js';
import type { DemoOptions } from './options.js';
import { describeExit } from './node-process.js';
import { stoppedByTheStop } from './stop-report.js';
import { walkthrough } from './walkthrough.js';

/**
 * The same promise, marked as handled: after a Ctrl-C the demo stops waiting for it, and its
 * failure (the nodes it was using are gone) must not surface as an unhandled rejection.
 */
function quietly<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** The signals that stop the demo and its nodes gracefully. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** How long nodes get to exit on their own after a Ctrl-C before the demo sends SIGTERM. */
const SELF_STOP_MS = 1000;

function curlExamples(url: string): string[] {
  return [
    `curl -X PUT ${url}/v1/keys/hello -H 'content-type: text/plain' --data 'world'`,
    `curl -i ${url}/v1/keys/hello`,
    `curl -X DELETE ${url}/v1/keys/hello`,
    `curl ${url}/v1/stats`,
    `curl ${url}/metrics`,
  ];
}

/**
 * Runs the demo: start the nodes, serve the dashboard, walk through, then (unless `once`) wait for
 * Ctrl-C. Resolves with the exit code; every node is stopped before it resolves, on every path.
 */
export async function runDemo(options: DemoOptions, say = new Narrator()): Promise<number> {
  const cluster = new Cluster({
    ports: options.ports,
    host: options.host,
    ...(options.serverBin === undefined ? {} : { bin: options.serverBin }),
    // A node fences itself after an event-loop stall (never-stale): what it holds is then a miss
    // until a peer replica vouches for it, and the scale section's one-copy keys have no peer. A
    // laptop running the demo, its load and a browser stalls a node past the default 1000 ms now
    // and then: the demo's nodes allow 3 s.
    args: ['--max-memory', options.maxMemory, '--log-level', 'warn', '--stall-threshold', '3000'],
  });
  let client: DistributedCacheClient | undefined;
  let dashboard: Dashboard | undefined;
  let stopping: Promise<void> | undefined;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  /** `ctrlC`: stopping on a SIGINT, which a terminal sent the nodes as well. */
  const shutdown = (ctrlC = false): Promise<void> =>
    (stopping ??= (async () => {
      say.section('Stopping');
      // A node that never started, or was killed by hand, is not one the demo stopped: say so. What
      // counts is what was known as the stop began (see stoppedByTheStop for a Ctrl-C's own exits).
      const startedAt = performance.now();
      const atStop = cluster.nodes.map((node) => ({
        node,
        running: node.running,
        exitedAt: node.exitedAt,
      }));
      await client?.close();
      await dashboard?.close();
      // After a Ctrl-C, let the nodes finish the graceful shutdown they already started rather than
      // interrupt it with a second signal.
      await cluster.stop({ selfMs: ctrlC ? SELF_STOP_MS : 0 });
      for (const { node, running, exitedAt } of atStop) {
        const exit = await node.exited;
        const exitedMsBefore = exitedAt === undefined ? undefined : startedAt - exitedAt;
        if (stoppedByTheStop({ running, exit, exitedMsBefore }, ctrlC))
          say.ok(`${node.nodeId} stopped (${describeExit(exit)})`);
        else say.say(`  ${node.nodeId} had already exited (${describeExit(exit)})`);
      }
      resolveStopped();
    })());
  const onSignal = (signal: NodeJS.Signals): void => {
    // pnpm passes a terminal's Ctrl-C on to its script, which already got it: one notice is enough.
    if (stopping !== undefined) return;
    say.say(`\nReceived ${signal}: stopping the nodes…`);
    // Ctrl-C in a terminal signals the whole process group, nodes included.
    void shutdown(signal === 'SIGINT');
  };
  // SIGHUP too: a demo dying of a SIGHUP sent to it alone (kill -HUP) would run no 'exit' handler
  // and leave its nodes running. A closed terminal hangs up the nodes as well; they ignore it.
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);

  try {
    say.section(`Starting ${cluster.nodes.length} nodes`);
    say.say('Each node is a separate process, started through the real dcache-server CLI:');
    await Promise.race([quietly(cluster.start()), stopped]);
    if (stopping !== undefined) return 0;
    for (const node of cluster.nodes) {
      say.ok(`${node.nodeId}  ${node.url}  pid ${node.pid}  (${node.command})`);
    }

    let scaler: DistributedCacheClient | undefined;
    let poller: ClusterPoller | undefined;
    if (options.dashboardPort !== undefined) {
      poller = new ClusterPoller({
        urls: cluster.urls,
        transition: () => scaler?.getTransitionStats(),
      });
      dashboard = await startDashboard({
        poller,
        host: options.host,
        port: options.dashboardPort,
      });
      // A Ctrl-C while it was starting found no dashboard to close, and a listening one would keep
      // the demo running after its nodes are gone.
      if (stopping !== undefined) {
        await dashboard.close();
        await stopping;
        return 0;
      }
      say.ok(
        `dashboard: ${dashboard.url}  (memory, items, hit rate, ops/s and up/down per node, the ring and its transition window, live)`,
      );
    }
    const feed = poller && {
      watch: (client: DistributedCacheClient) => (scaler = client),
      ring: (urls: readonly string[]) => poller.setUrls(urls),
    };

    // A killed node refuses connections at once, so failover does not wait for this timeout; it is
    // generous so that a busy laptop does not turn slowness into errors.
    client = new DistributedCacheClient(cluster.urls, { replicas: 2, timeout: 3000 });
    await Promise.race([
      quietly(
        walkthrough({
          client,
          cluster,
          // After a Ctrl-C the walkthrough runs on until its next call fails; it must not go on
          // narrating under "Stopping".
          say: say.until(() => stopping === undefined),
          ...(feed && { dashboard: feed }),
        }),
      ),
      stopped,
    ]);
    if (stopping !== undefined) return 0;

    say.section('Try it yourself');
    say.say(
      options.once
        ? 'Without --once the cluster keeps running here, to talk to a node directly (curl reaches one node; the client replicates):'
        : 'The cluster keeps running. Talk to a node directly (curl reaches one node; the client replicates):',
    );
    for (const line of curlExamples(cluster.urls[0]!)) say.step(line);
    if (dashboard !== undefined && !options.once) say.say(`Watch it live at ${dashboard.url}`);
    if (options.once) {
      await shutdown();
      return 0;
    }
    say.say(`Press Ctrl-C to stop all ${cluster.nodes.length} nodes.`);
    await stopped;
    return 0;
  } catch (error) {
    // Work cut short by a Ctrl-C fails (its client is closed, its nodes are going): not an error.
    if (stopping !== undefined) {
      await stopping;
      return 0;
    }
    say.fail(
      error instanceof DemoError ? error.message : ((error as Error).stack ?? String(error)),
    );
    await shutdown();
    return 1;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
}
