/** Event counters of one cache, named after what happened (the same names as /v1/stats). */
import type { CacheStats } from './types.js';

export class StatsCounters {
  hits = 0;
  misses = 0;
  sets = 0;
  deletes = 0;
  evictions = 0;
  expirations = 0;
  refusals = 0;

  reset(): void {
    this.hits = 0;
    this.misses = 0;
    this.sets = 0;
    this.deletes = 0;
    this.evictions = 0;
    this.expirations = 0;
    this.refusals = 0;
  }

  snapshot(items: number, memoryUsed: number, maxMemory: number): CacheStats {
    const reads = this.hits + this.misses;
    return {
      hits: this.hits,
      misses: this.misses,
      sets: this.sets,
      deletes: this.deletes,
      evictions: this.evictions,
      expirations: this.expirations,
      refusals: this.refusals,
      items,
      memoryUsed,
      maxMemory,
      hitRate: reads === 0 ? 0 : this.hits / reads,
    };
  }
}
