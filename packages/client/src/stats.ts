import type { Cluster } from './cluster.js';
import type { DiscoveryStats } from './discovery.js';
import { asError } from './results.js';
import type { ReplicationStats } from './replication-stats.js';
import type { TransitionStats } from './transition.js';

/** What one node's `GET /v1/stats` reported: the core's counters plus the server's own fields. */
export interface NodeStats {
  hits: number;
  misses: number;
  evictions: number;
  items: number;
  memoryUsed: number;
  [field: string]: unknown;
}

export interface NodeStatus {
  node: string;
  /** The failure detector's view: false while the node is marked down. */
  up: boolean;
  /** Present when the node answered. */
  stats?: NodeStats;
  /** Present when it did not. */
  error?: Error;
}

export interface ClusterTotals {
  hits: number;
  misses: number;
  evictions: number;
  /** Sum over nodes, so every replica of a key counts. */
  items: number;
  /** Bytes held, summed over nodes. */
  memory: number;
  /** hits / (hits + misses) over the cluster; 0 before any read. */
  hitRate: number;
}

export interface ClusterStats {
  nodes: NodeStatus[];
  totals: ClusterTotals;
  /** This client's replication counters (`getReplicationStats()`). */
  replication: ReplicationStats;
  /** Nodes currently considered up / marked down. */
  up: number;
  down: number;
  /** The warm-transition window and its counters (README "Scaling without a cold dip"). */
  transition: TransitionStats;
  /** DNS discovery's counters, when `nodes` was a discovery URL. */
  discovery?: DiscoveryStats;
}

function count(stats: Record<string, unknown>, field: string): number {
  const value = stats[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** Asks every node (up or down) for its stats in parallel; a node's failure stays in its entry. */
export async function clusterStats(cluster: Cluster): Promise<ClusterStats> {
  const nodes = await Promise.all(
    cluster.nodes.map(async (node): Promise<NodeStatus> => {
      try {
        const body = await node.stats();
        if (typeof body !== 'object' || body === null)
          throw new TypeError('stats are not an object');
        const raw = body as Record<string, unknown>;
        const stats: NodeStats = {
          ...raw,
          hits: count(raw, 'hits'),
          misses: count(raw, 'misses'),
          evictions: count(raw, 'evictions'),
          items: count(raw, 'items'),
          memoryUsed: count(raw, 'memoryUsed'),
        };
        return { node: node.url, up: node.up, stats };
      } catch (error) {
        return { node: node.url, up: node.up, error: asError(error) };
      }
    }),
  );
  const totals: ClusterTotals = {
    hits: 0,
    misses: 0,
    evictions: 0,
    items: 0,
    memory: 0,
    hitRate: 0,
  };
  for (const { stats } of nodes) {
    if (stats === undefined) continue;
    totals.hits += stats.hits;
    totals.misses += stats.misses;
    totals.evictions += stats.evictions;
    totals.items += stats.items;
    totals.memory += stats.memoryUsed;
  }
  const reads = totals.hits + totals.misses;
  totals.hitRate = reads === 0 ? 0 : totals.hits / reads;
  const up = nodes.filter((status) => status.up).length;
  return {
    nodes,
    totals,
    replication: cluster.counters.snapshot(),
    transition: cluster.transition.snapshot(),
    up,
    down: nodes.length - up,
  };
}
