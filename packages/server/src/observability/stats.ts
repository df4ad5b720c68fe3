import type { NodeState } from '../http/app-env.js';
import { LATENCY_BUCKETS_SECONDS, OPERATIONS } from './metrics.js';
import { VERSION } from '../version.js';

/** `GET /v1/stats`: the core's counters at the top level under their own names, then the node's. */
export function statsSnapshot(node: NodeState): Record<string, unknown> {
  return {
    ...node.replicas.stats,
    ...node.replicas.replicaStats,
    ...node.hints.stats,
    nodeId: node.options.nodeId,
    version: VERSION,
    uptime: Math.floor((performance.now() - node.startedAt) / 1000),
    requests: node.metrics.requests(),
    activeRequests: node.metrics.active,
    batchOperations: node.metrics.batchOperations,
    batchLane: { batches: node.metrics.laneBatches, handOffs: node.metrics.laneHandOffs },
    inflight: {
      bodyBytes: node.bodyBudget.bodies,
      answerBytes: node.bodyBudget.answers,
      limit: node.bodyBudget.limit,
    },
    errors: node.metrics.errors(),
  };
}

/** Core stats that are levels, not event counts; the rest are counters named for events. */
const GAUGES: Readonly<Record<string, [name: string, help: string]>> = {
  items: ['dcache_items', 'Entries in the cache.'],
  memoryUsed: ['dcache_memory_bytes', 'Accounted bytes held by the cache.'],
  maxMemory: ['dcache_max_memory_bytes', 'Memory limit of the cache in bytes.'],
  hitRate: ['dcache_hit_ratio', 'hits / (hits + misses) since start or the last reset.'],
  tombstones: ['dcache_tombstones', 'Tombstones held: deletes remembered for tombstoneGrace.'],
  tombstoneFloor: [
    'dcache_tombstone_floor',
    'Stamp of the newest tombstone evicted before its grace: absences at or below it are unproven.',
  ],
  lostValueFloor: [
    'dcache_lost_value_floor',
    'Stamp of the newest value gone by expiry or eviction: absences at or below it are unproven.',
  ],
  hintsPending: ['dcache_hints_pending', 'Keys held as hints for nodes that missed writes.'],
};

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function sample(value: number): string {
  if (value === Infinity) return '+Inf';
  return Number.isFinite(value) ? `${value}` : 'NaN';
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * `GET /metrics` in the Prometheus text format. Core counters keep their names with a `dcache_`
 * prefix and `_total` suffix (hits → dcache_hits_total), so /v1/stats and /metrics always agree.
 */
export function prometheusText(node: NodeState): string {
  const lines: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: [labels: string, value: number][],
  ): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${sample(value)}`);
  };
  const counters = { ...node.replicas.stats, ...node.replicas.replicaStats, ...node.hints.stats };
  for (const [stat, value] of Object.entries(counters)) {
    if (typeof value !== 'number') continue;
    const gauge = GAUGES[stat];
    if (gauge) metric(gauge[0], 'gauge', gauge[1], [['', value]]);
    else
      metric(`dcache_${snake(stat)}_total`, 'counter', `Cache ${stat} (core stat "${stat}").`, [
        ['', value],
      ]);
  }
  metric('dcache_info', 'gauge', 'Node identity.', [
    [`{node_id="${escapeLabel(node.options.nodeId)}",version="${escapeLabel(VERSION)}"}`, 1],
  ]);
  metric('dcache_uptime_seconds', 'gauge', 'Seconds since the node started.', [
    ['', Math.floor((performance.now() - node.startedAt) / 1000)],
  ]);
  const requests = node.metrics.requests();
  metric(
    'dcache_requests_total',
    'counter',
    'HTTP requests per operation.',
    OPERATIONS.map((op) => [`{op="${op}"}`, requests[op]]),
  );
  metric('dcache_active_requests', 'gauge', 'Requests being handled right now.', [
    ['', node.metrics.active],
  ]);
  metric(
    'dcache_batch_lane_batches_total',
    'counter',
    "POST /v1/batch requests taken by the batch lane, before Node's HTTP server.",
    [['', node.metrics.laneBatches]],
  );
  metric(
    'dcache_batch_lane_handoffs_total',
    'counter',
    "Connections the batch lane handed to Node's HTTP server at a request it does not take.",
    [['', node.metrics.laneHandOffs]],
  );
  metric('dcache_batch_operations_total', 'counter', 'Operations carried by POST /v1/batch.', [
    ['', node.metrics.batchOperations],
  ]);
  metric(
    'dcache_errors_total',
    'counter',
    'Requests refused, per HTTP status; not a 404 for a missing key (a miss) nor per-operation batch results.',
    Object.entries(node.metrics.errors()).map(([status, count]) => [`{status="${status}"}`, count]),
  );
  const name = 'dcache_request_duration_seconds';
  lines.push(
    `# HELP ${name} Time spent handling a request inside the node.`,
    `# TYPE ${name} histogram`,
  );
  for (const op of OPERATIONS) {
    const { buckets, seconds, count } = node.metrics.histogram(op);
    LATENCY_BUCKETS_SECONDS.forEach((le, i) =>
      lines.push(`${name}_bucket{op="${op}",le="${le}"} ${buckets[i]}`),
    );
    lines.push(`${name}_bucket{op="${op}",le="+Inf"} ${count}`);
    lines.push(`${name}_sum{op="${op}"} ${seconds}`, `${name}_count{op="${op}"} ${count}`);
  }
  return `${lines.join('\n')}\n`;
}
