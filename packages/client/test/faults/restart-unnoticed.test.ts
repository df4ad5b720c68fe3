// A node killed and restarted empty while no request of the client reached it: the client never
// sees it down (that takes `failureThreshold` failures), and the failure detector's return is what
// used to start a restore. Its keys came back only where reads repaired them — those it is the
// primary of — so once the other replica of a key it was the second copy of died too, that key was
// lost. The node's start on every batch answer (`Dcache-Start`) tells the client it restarted.
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, nodeStats, statNamed } from './node-http.js';
import { Scenario } from './scenario.js';

let scenario: Scenario | undefined;

afterEach(async () => {
  await scenario?.cleanup();
  scenario = undefined;
});

const KEYS = 300;
const keys = Array.from({ length: KEYS }, (_, i) => `r${i}`);

describe('a node restarted faster than the client could see it down', () => {
  it('gets its keys back, so a crash of another replica afterwards loses none', async () => {
    scenario = await Scenario.start();
    const { nemesis } = scenario;
    const client = scenario.client();
    await client.setMany(keys.map((key) => [key, `v-${key}`] as const));
    const restarted = nemesis.urls[0]!;
    const itsShare = keys.filter((key) => client.nodesFor(key).includes(restarted)).length;

    await nemesis.restart(0, 'empty');
    // One read of every key: the restarted node answers the batches that reach it, with its new start.
    const first = await client.getMany(keys);
    expect(first.size).toBe(KEYS);
    const { nodes } = await client.getStats();
    const down = nodes.filter((node) => !node.up).map((node) => node.node);
    expect(down, 'the client never marked the restarted node down').toEqual([]);

    // Restored: the node holds every key it is a replica of, not only those it is the primary of.
    const items = async (): Promise<number> => statNamed(await nodeStats(restarted), 'items') ?? 0;
    const restored = await eventually(async () => (await items()) >= itsShare, 10_000);
    expect(restored, `node 0 holds ${await items()} of its ${itsShare} keys`).toBe(true);
    expect(client.getReplicationStats().restoresRun).toBeGreaterThanOrEqual(1);

    // The second fault: every key still has a copy on a node that stands.
    await nemesis.kill(1);
    const reader = scenario.client();
    const after = await reader.getMany(keys);
    const lost = keys.filter((key) => after.get(key) !== `v-${key}`);
    expect(lost, `${lost.length} keys lost after node 1 crashed`).toEqual([]);
  });
});
