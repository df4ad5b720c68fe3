import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NodeProcess } from './node-process.js';
import type { StopOptions } from './node-process.js';

export interface ClusterOptions {
  /** One node per port (0 = let the OS pick). */
  ports: readonly number[];
  host?: string;
  /** Extra CLI flags given to every node. */
  args?: readonly string[];
  /** The nodes' bearer token, if `args` sets one. */
  token?: string;
  /** Path of the `dcache-server` bin. @default the one of the installed @dcache/server */
  bin?: string;
  /** The port of the node that joins and leaves in the scale section (0 = let the OS pick). @default 0 */
  sparePort?: number;
}

/**
 * The spare node's --shutdown-grace: after SIGTERM it keeps serving this long, so that the scaling
 * client's transition window still reads its keys while it leaves.
 */
export const SPARE_SHUTDOWN_GRACE_MS = 3000;

/** The `dcache-server` bin of the @dcache/server this app depends on, resolved like any dependency. */
export function serverBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@dcache/server/package.json')), 'bin', 'dcache-server.js');
}

/** Several nodes started and stopped together; node ids are node-1, node-2, … */
export class Cluster {
  readonly nodes: readonly NodeProcess[];
  /**
   * A further node, not started with the others: it joins the ring and leaves it again in the
   * scale section. Stopped with the cluster if it is still running.
   */
  readonly spare: NodeProcess;
  readonly #onExit = (): void => this.killNow();

  constructor(options: ClusterOptions) {
    const bin = options.bin ?? serverBin();
    this.nodes = options.ports.map(
      (port, i) =>
        new NodeProcess({
          bin,
          port,
          nodeId: `node-${i + 1}`,
          host: options.host ?? '127.0.0.1',
          args: options.args ?? [],
          ...(options.token === undefined ? {} : { token: options.token }),
        }),
    );
    this.spare = new NodeProcess({
      bin,
      port: options.sparePort ?? 0,
      nodeId: `node-${options.ports.length + 1}`,
      host: options.host ?? '127.0.0.1',
      args: [...(options.args ?? []), '--shutdown-grace', String(SPARE_SHUTDOWN_GRACE_MS)],
      ...(options.token === undefined ? {} : { token: options.token }),
    });
  }

  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /**
   * Starts every node in parallel. Until `stop()`, a process 'exit' handler SIGKILLs whatever is
   * still running, so even a crashing demo or test leaves no orphan nodes behind.
   */
  async start(): Promise<void> {
    process.on('exit', this.#onExit);
    const results = await Promise.allSettled(this.nodes.map((node) => node.start()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure !== undefined) {
      await this.stop();
      throw failure.reason;
    }
  }

  /** Gracefully stops every node (see NodeProcess.stop) and waits for them; none starts again. */
  async stop(options?: StopOptions): Promise<void> {
    const all = [...this.nodes, this.spare];
    for (const node of all) node.retire();
    // The spare's shutdown grace is spent serving: a second signal (SIGKILL after `graceMs`) ends it.
    await Promise.all(all.map((node) => node.stop(options)));
    process.off('exit', this.#onExit);
  }

  /** Synchronous SIGKILL of every running node. */
  killNow(): void {
    for (const node of [...this.nodes, this.spare]) node.killNow();
  }
}
