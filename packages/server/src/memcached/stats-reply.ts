import type { MemcachedCounters } from './counters.js';
import type { ReplyWriter } from './reply-writer.js';
import type { MemcachedCache } from './store.js';
import { VERSION } from '../version.js';

export interface StatsSource {
  readonly cache: MemcachedCache;
  readonly counters: MemcachedCounters;
  readonly version: string;
  /** `performance.now()` at start: `uptime` is time run, whatever the wall clock (`now`) does. */
  readonly startedAt: number;
  readonly maxConnections: number;
  readonly maxValueBytes: number;
  readonly now: () => number;
}

/**
 * The general-purpose `stats` reply. Names and meanings follow memcached's protocol.txt; the
 * cache-wide ones map from @dcache/core: curr_items ← items, bytes ← memoryUsed,
 * limit_maxbytes ← maxMemory (0 when only maxItems bounds the cache), get_hits ← hits,
 * get_misses ← misses, get_expired ← expirations, evictions ← evictions. Core counters cover the
 * whole node (HTTP reads count too), which is what a dashboard of the node wants.
 */
export function writeGeneralStats(out: ReplyWriter, src: StatsSource): void {
  const c = src.counters;
  const core = src.cache.stats;
  const nowMs = src.now();
  const usage = process.resourceUsage();
  const lines: Array<[string, string | number]> = [
    ['pid', process.pid],
    ['uptime', Math.floor((performance.now() - src.startedAt) / 1000)],
    ['time', Math.floor(nowMs / 1000)],
    ['version', src.version],
    // `version` is the memcached release clients should expect; this is the node's own.
    ['dcache_version', VERSION],
    ['pointer_size', 64],
    ['rusage_user', (usage.userCPUTime / 1e6).toFixed(6)],
    ['rusage_system', (usage.systemCPUTime / 1e6).toFixed(6)],
    ['max_connections', src.maxConnections],
    ['curr_connections', c.curr_connections],
    ['total_connections', c.total_connections],
    ['rejected_connections', c.rejected_connections],
    ['cmd_get', c.cmd_get],
    ['cmd_set', c.cmd_set],
    ['cmd_flush', c.cmd_flush],
    ['cmd_touch', c.cmd_touch],
    ['cmd_meta', c.cmd_meta],
    ['get_hits', core.hits],
    ['get_misses', core.misses],
    ['get_expired', core.expirations],
    ['delete_misses', c.delete_misses],
    ['delete_hits', c.delete_hits],
    ['incr_misses', c.incr_misses],
    ['incr_hits', c.incr_hits],
    ['decr_misses', c.decr_misses],
    ['decr_hits', c.decr_hits],
    ['cas_misses', c.cas_misses],
    ['cas_hits', c.cas_hits],
    ['cas_badval', c.cas_badval],
    ['touch_hits', c.touch_hits],
    ['touch_misses', c.touch_misses],
    ['store_too_large', c.store_too_large],
    ['store_no_memory', 0],
    ['idle_kicks', c.idle_kicks],
    ['bytes_read', c.bytes_read],
    ['bytes_written', c.bytes_written],
    ['limit_maxbytes', Number.isFinite(core.maxMemory) ? core.maxMemory : 0],
    ['threads', 1],
    ['bytes', core.memoryUsed],
    ['curr_items', core.items],
    ['total_items', c.total_items],
    ['evictions', core.evictions],
  ];
  for (const [name, value] of lines) out.ascii(`STAT ${name} ${value}\r\n`);
  out.ascii('END\r\n');
}

/** `stats settings`: the few settings that have a dcache equivalent. */
export function writeSettingsStats(out: ReplyWriter, src: StatsSource): void {
  const core = src.cache.stats;
  out.ascii(`STAT maxbytes ${Number.isFinite(core.maxMemory) ? core.maxMemory : 0}\r\n`);
  out.ascii(`STAT maxconns ${src.maxConnections}\r\n`);
  out.ascii(`STAT item_size_max ${src.maxValueBytes}\r\n`);
  out.ascii('STAT cas_enabled yes\r\n');
  out.ascii('STAT flush_enabled yes\r\n');
  out.ascii('END\r\n');
}
