// The counters of docs/design/never-stale.md §11, read where users read them: a node's /v1/stats
// and /metrics (which must agree), summed over nodes, and the client's own.
import type { DistributedCacheClient } from '../../src/index.js';
import { metricName, nodeMetrics, nodeStats, statNamed } from './node-http.js';

/** §11 node counters; the rest of the node's names are levels. */
export const NODE_COUNTERS = [
  'hintsStored',
  'hintsReplayed',
  'hintsDropped',
  'copiesApplied',
  'copiesRefused',
  'verifications',
  'fences',
  'stalls',
  'tombstonesEvictedEarly',
  'restoredKeys',
  'clockSkewRejections',
  'staleReadsPrevented',
] as const;
export const NODE_LEVELS = [
  'hintsPending',
  'tombstones',
  'tombstoneFloor',
  'lostValueFloor',
] as const;
export type NodeCounter = (typeof NODE_COUNTERS)[number] | (typeof NODE_LEVELS)[number];

export const CLIENT_COUNTERS = [
  'hintsHandedOff',
  'hintsDropped',
  'repairs',
  'verifications',
  'staleReadsPrevented',
  'unverifiedDropped',
  'restoresRun',
] as const;
export type ClientCounter = (typeof CLIENT_COUNTERS)[number];

/** One node's §11 counters from /v1/stats; `mismatches` names those /metrics reports otherwise. */
export interface NodeCounters {
  url: string;
  values: Partial<Record<NodeCounter, number>>;
  /** `url name: /v1/stats X, /metrics Y` for each counter missing from either or different in them. */
  mismatches: Partial<Record<NodeCounter, string>>;
}

/**
 * Reads both endpoints of one node. Call it while the counters are still (no fault being
 * repaired), or the two reads may see different moments.
 */
export async function nodeCounters(url: string): Promise<NodeCounters> {
  const [stats, metrics] = await Promise.all([nodeStats(url), nodeMetrics(url)]);
  const values: Partial<Record<NodeCounter, number>> = {};
  const mismatches: Partial<Record<NodeCounter, string>> = {};
  const names = [
    ...NODE_COUNTERS.map((name) => [name, 'counter'] as const),
    ...NODE_LEVELS.map((name) => [name, 'level'] as const),
  ];
  for (const [name, kind] of names) {
    const inStats = statNamed(stats, name);
    const inMetrics = metrics.get(metricName(name, kind));
    if (inStats !== undefined) values[name] = inStats;
    if (inStats === undefined || inStats !== inMetrics) {
      mismatches[name] =
        `${url} ${name}: /v1/stats ${String(inStats)}, /metrics ${metricName(name, kind)} ${String(inMetrics)}`;
    }
  }
  return { url, values, mismatches };
}

/** The sum of one counter over nodes (a missing one counts 0; `mismatches` reports it). */
export function sum(nodes: readonly NodeCounters[], name: NodeCounter): number {
  return nodes.reduce((total, node) => total + (node.values[name] ?? 0), 0);
}

/** What `names` lack or disagree on, over `nodes` (empty when both endpoints report them alike). */
export function mismatched(
  nodes: readonly NodeCounters[],
  names: readonly NodeCounter[],
): string[] {
  return nodes.flatMap((node) =>
    names.flatMap((name) => (node.mismatches[name] === undefined ? [] : [node.mismatches[name]])),
  );
}

/** Every node's counters. */
export function clusterCounters(urls: readonly string[]): Promise<NodeCounters[]> {
  return Promise.all(urls.map(nodeCounters));
}

/** The shapes the client may publish its counters in (§11: `getReplicationStats()`). */
interface MaybeReplicationStats {
  getReplicationStats?: () => unknown;
}

/**
 * The client's §11 counters: `getReplicationStats()` (sync or async), or a `replication` section
 * of `getStats()`. Undefined entries are counters the client does not report.
 */
export async function clientCounters(
  client: DistributedCacheClient,
): Promise<Partial<Record<ClientCounter, number>>> {
  const source = client as unknown as MaybeReplicationStats;
  let raw: unknown;
  if (typeof source.getReplicationStats === 'function') {
    raw = await source.getReplicationStats();
  } else {
    raw = ((await client.getStats()) as unknown as { replication?: unknown }).replication;
  }
  const counters: Partial<Record<ClientCounter, number>> = {};
  if (typeof raw !== 'object' || raw === null) return counters;
  for (const name of CLIENT_COUNTERS) {
    const value = (raw as Record<string, unknown>)[name];
    if (typeof value === 'number') counters[name] = value;
  }
  return counters;
}
