import type { Context } from 'hono';
import type { AppEnv, NodeState } from '../app-env.js';
import type { Operation } from '../../observability/metrics.js';

type Handler = (c: Context<AppEnv>) => Response | Promise<Response>;

/**
 * Counts the requests of `op` and records their latency inside the node. A handler wrapper rather
 * than a hono middleware on purpose: a route with a single synchronous handler lets hono and
 * @hono/node-server answer without a promise, which keeps GET close to a bare hello-world.
 * A request that throws is counted too; the error handler records its status.
 *
 * Every hono route runs through it, so it is also where a request is refused (503) while answers
 * its clients have not read fill the node's budget (inflight-budget.ts). (A delayed flush is no
 * business of the doors: the ReplicaStore applies one that is due before it reads or writes.)
 */
export function timed(node: NodeState, op: Operation, handler: Handler): Handler {
  const { metrics, bodyBudget } = node;
  // Monitoring stays answered when the node is overloaded, to connections that read their answers.
  const monitoring = op === 'health' || op === 'stats' || op === 'metrics';
  return function timedHandler(c) {
    bodyBudget.admit(c.env?.incoming?.socket, monitoring);
    const start = performance.now();
    metrics.start();
    let result: Response | Promise<Response>;
    try {
      result = handler(c);
    } catch (error) {
      metrics.record(op, performance.now() - start);
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        (response) => {
          metrics.record(op, performance.now() - start);
          return response;
        },
        (error: unknown) => {
          metrics.record(op, performance.now() - start);
          throw error;
        },
      );
    }
    metrics.record(op, performance.now() - start);
    return result;
  };
}
