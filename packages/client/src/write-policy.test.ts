import { describe, expect, it } from 'vitest';
import type { Cluster } from './cluster.js';
import { COPIES, COUNT, EVERY, STORE, TOUCH_REST } from './write-policy.js';
import type { WritePolicy } from './write-policy.js';
import type { BatchResult } from './wire.js';

/** Only `required` is read by the policies. */
const clusterRequiring = (required: number): Cluster => ({ required }) as unknown as Cluster;

const policies: Record<string, WritePolicy> = { STORE, EVERY, COUNT, COPIES, TOUCH_REST };

describe('write policies', () => {
  it.each([
    // policy, cluster.required, live replicas asked, acks the call waits for
    ['STORE', 1, 2, 1],
    ['STORE', 2, 2, 2],
    ['STORE', 2, 1, 2], // fewer live than required: the call answers false, never waits forever
    ['EVERY', 1, 2, 2],
    ['EVERY', 1, 1, 1],
    ['COUNT', 1, 3, 3],
    ['COPIES', 1, 1, 0],
    ['COPIES', 3, 2, 2],
    ['TOUCH_REST', 2, 2, 0],
  ] as const)('%s with required %i of %i live waits for %i acks', (name, required, live, acks) => {
    expect(policies[name]!.required(clusterRequiring(required), live)).toBe(acks);
  });

  const results: [string, BatchResult][] = [
    ['stored', [204, 7, 99]],
    ['not found', [404]],
    ['refused', [412]],
    ['counted', [200, 5]],
    ['counted big', [200, 2n ** 60n]],
    ['hit bytes', [200, new Uint8Array(1)]],
    ['too large', [413, 'too_large', 'x']],
  ];
  it.each([
    ['STORE', ['stored']],
    ['COPIES', ['stored']],
    ['EVERY', ['stored', 'not found']],
    ['TOUCH_REST', ['stored', 'not found']],
    ['COUNT', ['counted', 'counted big']],
  ] as const)('%s acknowledges exactly %j', (name, acks) => {
    const policy = policies[name]!;
    const acked = results.filter(([, result]) => policy.isAck(result)).map(([label]) => label);
    expect(acked).toEqual(acks);
  });

  it('only set and the copies after a conditional set wait for earlier owners in a window', () => {
    const waiting = Object.entries(policies).filter(([, policy]) => policy.awaitsEarlierOwners);
    expect(waiting.map(([name]) => name)).toEqual(['STORE', 'COPIES']);
  });
});
