// A set under 'one' answers once the primary has it. A replica that answers later that it kept
// another write (a stamp ahead of this one: another writer's clock runs ahead, and the primary had
// lost that write) is past re-stamping — the call has answered — so the two replicas now hold
// different writes. The README names the case; the client counts every occurrence.
import { describe, expect, it } from 'vitest';
import { stampAt } from '@dcache/core';
import { encodeValue } from '../src/codec.js';
import { DistributedCacheClient } from '../src/index.js';
import type { WriteConsistency } from '../src/index.js';
import { useNemesis } from './faults/use-nemesis.js';
import { rawBatch, rawGet } from './raw-node.js';

const fixture = useNemesis();

const OTHER = encodeValue('other');

/**
 * The key's replica that is not its primary holds another writer's value stamped 400 ms ahead of
 * this client's clock (inside the nodes' 500 ms skew limit; with 200 ms, a machine at load 14
 * once let the set be stamped past it, and nothing was superseded); the primary holds nothing. The replica is
 * paused while the client sets the key, and resumed once the set has answered ('one') or after
 * 300 ms in which it has not ('all'). Returns the client, the set's answer and the replica.
 */
async function setPastReplicaHoldingNewer(
  writeConsistency: WriteConsistency,
): Promise<{ client: DistributedCacheClient; stored: boolean; replica: string }> {
  const nemesis = await fixture.start({ nodes: 2 });
  const client = new DistributedCacheClient(nemesis.urls, {
    replicas: 2,
    writeConsistency,
    timeout: 5000,
  });
  fixture.keep(client);
  const key = 'late:k';
  const [primary, replica] = client.nodesFor(key);
  const replicaIndex = nemesis.urls.indexOf(replica!);
  const ahead = stampAt(Date.now() + 400);
  const [held] = await rawBatch(replica!, [
    ['set', key, OTHER.bytes, OTHER.flags, null, null, ahead],
  ]);
  expect(held![0]).toBe(204);

  nemesis.pause(replicaIndex);
  const write = client.set(key, 'mine');
  if (writeConsistency === 'one') {
    // Answered on the primary while the replica is still paused.
    const stored = await write;
    const [, , , , , stamp] = await rawGet(primary!, key);
    expect(
      stamp,
      'the set stamped before the other write (else nothing to supersede)',
    ).toBeLessThan(ahead);
    expect(client.getReplicationStats().lateSupersededWrites).toBe(0);
    nemesis.resume(replicaIndex);
    return { client, stored, replica: replica! };
  }
  const waiting = await Promise.race([
    write.then(() => false),
    new Promise<true>((resolve) => setTimeout(() => resolve(true), 300)),
  ]);
  expect(waiting, "'all' waits for the paused replica").toBe(true);
  nemesis.resume(replicaIndex);
  return { client, stored: await write, replica: replica! };
}

const cases: [string, WriteConsistency, number, string][] = [
  [
    "writeConsistency 'one': the set stands on the primary, the replica keeps the other write, and the client counts it",
    'one',
    1,
    'other',
  ],
  [
    "writeConsistency 'all': the set waits for the replica, is stamped above its write and sent again; nothing to count",
    'all',
    0,
    'mine',
  ],
];

describe('a replica that answers after the set resolved that it kept a newer write', () => {
  it.each(cases)('%s', async (_name, writeConsistency, counted, replicaHolds) => {
    const { client, stored, replica } = await setPastReplicaHoldingNewer(writeConsistency);
    expect(stored).toBe(true);
    // close() waits for the replica's answer.
    await client.close();
    expect(client.getReplicationStats().lateSupersededWrites).toBe(counted);
    const [status, bytes] = await rawGet(replica, 'late:k');
    expect(status).toBe(200);
    const expected = encodeValue(replicaHolds).bytes;
    expect(Buffer.from(bytes as Uint8Array)).toStrictEqual(Buffer.from(expected));
  });
});
