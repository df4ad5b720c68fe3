// The scale section: a fourth node joins the ring while a load runs, then leaves it again, and the
// hit rate holds through both — the client's transition window finds each moved key on its
// previous owner and copies it over (client README, "Scaling without a cold dip").
import { setTimeout as sleep } from 'node:timers/promises';
import { DistributedCacheClient } from '@dcache/client';
import type { TransitionStats } from '@dcache/client';
import { SPARE_SHUTDOWN_GRACE_MS } from './cluster.js';
import { describeExit } from './node-process.js';
import { formatPercent, spellCount } from './narrator.js';
import type { WalkthroughContext } from './walkthrough.js';
import { WalkthroughError } from './walkthrough.js';

const KEYS = 2000;
const CALLERS = 4;
const BEFORE_MS = 1500;
const AFTER_MS = 2000;
/** The scaling client's window: short, so the demo sees it close. */
const QUIET_MS = 1500;
const MAX_WINDOW_MS = 10_000;
/** The hit rate after a change must stay at this share of the one before (the bar). */
const HOLDS = 0.98;

/** What the callers did since the last `take()`. */
class Tally {
  reads = 0;
  hits = 0;
  writes = 0;
  errors = 0;
  firstError: unknown;

  take(): { reads: number; hits: number; writes: number; errors: number } {
    const taken = { reads: this.reads, hits: this.hits, writes: this.writes, errors: this.errors };
    this.reads = this.hits = this.writes = this.errors = 0;
    return taken;
  }
}

/** Closed-loop callers: 90% gets (skewed towards low-numbered keys), 10% sets of the same values. */
function startLoad(client: DistributedCacheClient, keys: readonly string[], tally: Tally) {
  let running = true;
  const caller = async (): Promise<void> => {
    while (running) {
      const i = Math.floor(keys.length * Math.random() ** 2);
      try {
        // Counted as they complete, so that a phase counts each read's hit with the read itself.
        if (Math.random() < 0.9) {
          const found = (await client.get(keys[i]!)) !== undefined;
          tally.reads++;
          if (found) tally.hits++;
        } else {
          await client.set(keys[i]!, `value ${i}`);
          tally.writes++;
        }
      } catch (error) {
        tally.errors++;
        tally.firstError ??= error;
        // The section fails on its next check; a loop of errors (nodes gone at a Ctrl-C) must not spin.
        running = false;
      }
    }
  };
  const callers = Promise.all(Array.from({ length: CALLERS }, caller));
  return {
    stop: async (): Promise<void> => {
      running = false;
      await callers;
    },
  };
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new WalkthroughError(message);
}

async function windowClosed(client: DistributedCacheClient): Promise<TransitionStats> {
  const deadline = Date.now() + MAX_WINDOW_MS + 5000;
  while (client.getTransitionStats().open && Date.now() < deadline) await sleep(100);
  const stats = client.getTransitionStats();
  expect(!stats.open, `the transition window did not close within ${MAX_WINDOW_MS} ms`);
  return stats;
}

/** Runs `phaseMs` of load and says how it went; returns its hit rate. */
async function measure(tally: Tally, phaseMs: number): Promise<number> {
  tally.take();
  await sleep(phaseMs);
  const { reads, hits, errors } = tally.take();
  expect(errors === 0, `${errors} operations failed: ${String(tally.firstError)}`);
  expect(reads > 0, 'the load made no read');
  return hits / reads;
}

/** Why the window closed, in words. */
function closing(stats: TransitionStats): string {
  return stats.lastCloseReason === 'quiet'
    ? `no fallback hit for ${QUIET_MS} ms`
    : `${MAX_WINDOW_MS / 1000} s after the change, while rarely read keys were still being found on their previous owners`;
}

export async function scaleOutAndBack(context: WalkthroughContext): Promise<void> {
  const { cluster, say, dashboard } = context;
  say.section('Scaling out and back');
  say.say(
    `A second client keeps one copy per key (replicas: 1, as plain memcached does) and ${CALLERS} callers busy: 90% reads of ${KEYS} keys, 10% writes.`,
  );
  const client = new DistributedCacheClient(cluster.urls, {
    replicas: 1,
    timeout: 3000,
    transition: { quietMs: QUIET_MS, maxWindowMs: MAX_WINDOW_MS },
  });
  dashboard?.watch(client);
  const keys = Array.from({ length: KEYS }, (_, i) => `item:${i}`);
  const tally = new Tally();
  let load: { stop(): Promise<void> } | undefined;
  try {
    say.step(`await scaler.setMany(${KEYS} entries like ['item:7', 'value 7'])`);
    expect(
      await client.setMany(keys.map((key, i) => [key, `value ${i}`] as const)),
      'setMany did not store every entry',
    );
    load = startLoad(client, keys, tally);
    const before = await measure(tally, BEFORE_MS);
    say.result(`load running: hit rate ${formatPercent(before)} over ${BEFORE_MS / 1000} s`);

    const spare = cluster.spare;
    say.step(`${spare.command}   // one more node`);
    await spare.start();
    say.ok(`${spare.nodeId}  ${spare.url}  pid ${spare.pid}  (${spare.command})`);
    const owners = new Map(keys.map((key) => [key, client.nodesFor(key)[0]]));
    client.addNode(spare.url);
    dashboard?.ring([...cluster.urls, spare.url]);
    const moved = keys.filter((key) => client.nodesFor(key)[0] !== owners.get(key)).length;
    say.step(
      `scaler.addNode('${spare.url}')   // ${moved} of ${KEYS} keys (${formatPercent(moved / KEYS)}) now belong to ${spare.nodeId}: each would miss once without the transition window`,
    );
    const afterJoin = await measure(tally, AFTER_MS);
    const joined = client.getTransitionStats();
    expect(
      afterJoin >= HOLDS * before,
      `the hit rate fell from ${formatPercent(before)} to ${formatPercent(afterJoin)} after the join`,
    );
    expect(joined.fallbackHits > 0, 'no read found a moved key on its previous owner');
    say.result(
      `hit rate ${formatPercent(afterJoin)} over ${AFTER_MS / 1000} s after the join (before: ${formatPercent(before)}); window ${joined.open ? 'open' : 'closed'}: ${joined.fallbackHits} fallback hits, ${joined.backfilled} keys backfilled to ${spare.nodeId}`,
    );
    const closedAfterJoin = await windowClosed(client);
    say.result(`window closed (${closedAfterJoin.lastCloseReason}): ${closing(closedAfterJoin)}`);

    say.step(
      `kill -TERM ${spare.pid}   // ${spare.nodeId} leaves: it keeps serving for its --shutdown-grace (${SPARE_SHUTDOWN_GRACE_MS} ms)`,
    );
    const leaving = spare.stop({ graceMs: SPARE_SHUTDOWN_GRACE_MS + 10_000 });
    say.step(
      `await scaler.removeNode('${spare.url}')   // its keys move back to the first ${spellCount(cluster.nodes.length)}`,
    );
    await client.removeNode(spare.url);
    dashboard?.ring(cluster.urls);
    const afterLeave = await measure(tally, AFTER_MS);
    const left = client.getTransitionStats();
    expect(
      afterLeave >= HOLDS * before,
      `the hit rate fell from ${formatPercent(before)} to ${formatPercent(afterLeave)} after the leave`,
    );
    expect(
      left.fallbackHits > joined.fallbackHits,
      `no read found a key on the leaving ${spare.nodeId}`,
    );
    say.result(
      `hit rate ${formatPercent(afterLeave)} over ${AFTER_MS / 1000} s after the leave: ${left.fallbackHits - joined.fallbackHits} fallback hits on ${spare.nodeId}, ${left.backfilled - joined.backfilled} keys backfilled from it`,
    );
    const exit = await leaving;
    say.result(`${spare.nodeId} exited (${describeExit(exit)}) after its grace`);
    await load.stop();
    load = undefined;
    const total = tally.take();
    expect(total.errors === 0, `${total.errors} operations failed: ${String(tally.firstError)}`);
    const closed = await windowClosed(client);
    say.result(
      `window closed (${closed.lastCloseReason}: ${closing(closed)}); ${closed.transitions} windows, ${closed.fallbackHits} fallback hits, ${closed.backfilled} backfilled, ${closed.invalidated} old copies invalidated by writes; 0 operations failed`,
    );
  } finally {
    await load?.stop();
    await client.close();
  }
}
