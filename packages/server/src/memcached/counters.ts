/**
 * Event counters of the memcached front door, named as memcached names them in `stats` so
 * dashboards built for memcached read them unchanged. Cache-wide numbers (items, bytes, hits,
 * misses, evictions) come from the core instead; see stats-reply.ts.
 */
export class MemcachedCounters {
  curr_connections = 0;
  total_connections = 0;
  rejected_connections = 0;
  idle_kicks = 0;
  cmd_get = 0;
  cmd_set = 0;
  cmd_flush = 0;
  cmd_touch = 0;
  cmd_meta = 0;
  delete_hits = 0;
  delete_misses = 0;
  incr_hits = 0;
  incr_misses = 0;
  decr_hits = 0;
  decr_misses = 0;
  cas_hits = 0;
  cas_misses = 0;
  cas_badval = 0;
  touch_hits = 0;
  touch_misses = 0;
  store_too_large = 0;
  total_items = 0;
  bytes_read = 0;
  bytes_written = 0;

  /** `stats reset`: zero the event counters; connection gauges keep their meaning. */
  reset(): void {
    const { curr_connections } = this;
    Object.assign(this, new MemcachedCounters());
    this.curr_connections = curr_connections;
  }
}

/** A read-only snapshot, as exposed on the listener's `stats`. */
export type MemcachedStats = Readonly<Omit<MemcachedCounters, 'reset'>>;
