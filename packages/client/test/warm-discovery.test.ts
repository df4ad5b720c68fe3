// Warm transitions when DNS discovery changes the ring: records rewritten to scale 3 → 4 → 3 pods
// (dnsmasq on a loopback port, CLI nodes on 127.0.0.2–127.0.0.5), replicas 1, so that every moved
// key is found only on its previous owner.
import { afterEach, describe, expect, it } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { TransitionEvent } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { waitFor } from './cluster.js';
import { startDnsmasq, stopAllDnsmasq } from './dnsmasq.js';
import type { DnsRecords } from './dnsmasq.js';

const SRV = '_http._tcp.dcache.test';
const podName = (i: number): string => `dcache-${i}.dcache.test`;
const KEYS = Array.from({ length: 300 }, (_, i) => `dns-warm:${i}`);

const clients: DistributedCacheClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await stopAllDnsmasq();
  await stopCliNodes();
});

function srvRecords(pods: readonly CliNode[]): DnsRecords {
  return {
    srv: pods.map((node, i) => ({ name: SRV, target: podName(i), port: node.port })),
    hosts: Object.fromEntries(pods.map((node, i) => [podName(i), [node.host]])),
  };
}

describe('warm transitions through DNS discovery', () => {
  it('scale 3 → 4 → 3 by rewriting the records: every key stays a hit, found on its previous owner', async () => {
    // --stall-threshold: see warm-transition.test.ts (a loaded machine fences replicas-1 nodes).
    const pods = await Promise.all(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'].map((host) =>
        startCliNode(host, 0, ['--stall-threshold', '10000']),
      ),
    );
    const dns = await startDnsmasq(srvRecords(pods.slice(0, 3)));
    const events: TransitionEvent[] = [];
    const client = new DistributedCacheClient(`dns+srv://${SRV}`, {
      replicas: 1,
      timeout: 5000,
      discovery: { servers: [dns.server], intervalMs: 300, timeoutMs: 500 },
      onDiscoveryError: () => undefined,
      transition: { maxWindowMs: 60_000, quietMs: 60_000 },
      onTransition: (event) => events.push(event),
    });
    clients.push(client);
    expect(await client.setMany(KEYS.map((key) => [key, key] as const))).toBe(true);
    const url = (i: number): string => `http://${podName(i)}:${pods[i]!.port}`;

    await dns.update(srvRecords(pods));
    await waitFor(() => client.nodes.length === 4, 'the client to see the fourth pod');
    expect(events.map((event) => [event.phase, event.added])).toStrictEqual([['open', [url(3)]]]);
    const onFourth = KEYS.filter((key) => client.nodesFor(key)[0] === url(3));
    expect(onFourth.length).toBeGreaterThan(30);
    let found = await client.getMany(KEYS);
    expect(KEYS.filter((key) => found.get(key) !== key)).toStrictEqual([]);
    expect(client.getTransitionStats().fallbackHits).toBe(onFourth.length);
    // Backfilled in the background, after the read answered.
    await waitFor(() => pods[3]!.holds(onFourth[0]!), 'the fourth pod to hold a key it took');

    // The fourth pod leaves the records (as a scaled-down pod does) but still answers: the keys
    // it took are read there and copied back.
    const written = onFourth[1]!;
    expect(await client.set(written, 'new')).toBe(true);
    await dns.update(srvRecords(pods.slice(0, 3)));
    await waitFor(() => client.nodes.length === 3, 'the client to drop the fourth pod');
    found = await client.getMany(KEYS);
    expect(KEYS.filter((key) => found.get(key) !== (key === written ? 'new' : key))).toStrictEqual(
      [],
    );
    expect(client.getTransitionStats()).toMatchObject({ open: true, transitions: 1 });
  });
});
