// dns+srvs://: HTTPS nodes found by SRV records. Connections go to the address DNS gave, while
// TLS verifies the pod's name (the SRV target), as it would on Kubernetes with per-pod names in
// the certificate.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DistributedCacheClient, isCacheUnavailableError } from '../src/index.js';
import { selfSigned } from './certificates.js';
import type { CertificatePair } from './certificates.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { startDnsmasq, stopAllDnsmasq } from './dnsmasq.js';

const SRV = '_https._tcp.dcache.test';
const podName = (i: number): string => `dcache-${i}.dcache.test`;

describe('dns+srvs:// with TLS nodes', () => {
  let dir = '';
  let pair: CertificatePair;
  let nodes: CliNode[] = [];
  const clients: DistributedCacheClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcache-discovery-tls-'));
    // Valid for pods 0 and 1 by name only: not for their addresses, nor for pod 2.
    pair = selfSigned('dcache', `DNS:${podName(0)},DNS:${podName(1)}`);
    writeFileSync(join(dir, 'cert.pem'), pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
    const tls = ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')];
    nodes = await Promise.all(
      ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((host) => startCliNode(host, 0, tls)),
    );
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await stopAllDnsmasq();
  });
  afterAll(async () => {
    await stopCliNodes();
    rmSync(dir, { recursive: true, force: true });
  });

  async function discover(pods: number[]): Promise<DistributedCacheClient> {
    const dns = await startDnsmasq({
      srv: pods.map((i) => ({ name: SRV, target: podName(i), port: nodes[i]!.port })),
      hosts: Object.fromEntries(pods.map((i) => [podName(i), [nodes[i]!.host]])),
    });
    const client = new DistributedCacheClient(`dns+srvs://${SRV}`, {
      timeout: 10_000,
      replicas: 1,
      tls: { ca: pair.cert },
      discovery: { servers: [dns.server], intervalMs: 1000 },
    });
    clients.push(client);
    await client.ready();
    return client;
  }

  it('speaks https to each pod at its address, verifying the pod name', async () => {
    expect(nodes[0]!.url).toMatch(/^https:\/\/127\.0\.0\.2:/);
    const client = await discover([0, 1]);
    expect(client.nodes).toStrictEqual(
      [0, 1].map((i) => `https://${podName(i)}:${nodes[i]!.port}`),
    );
    for (let i = 0; i < 20; i++) {
      expect(await client.set(`tls-${i}`, i)).toBe(true);
      expect(await client.get(`tls-${i}`)).toBe(i);
    }
    const stats = await client.getStats();
    expect(stats.nodes.map((node) => node.error)).toStrictEqual([undefined, undefined]);
  });

  it('refuses a pod whose certificate does not name it', async () => {
    const client = await discover([2]);
    const error = await client.get('k').catch((caught: unknown) => caught as Error);
    expect(isCacheUnavailableError(error)).toBe(true);
    const cause = (error as Error).cause as Error;
    expect(cause.message).toMatch(/altnames|Hostname\/IP does not match/i);
    expect(cause.message).toContain(podName(2));
  });
});
