// The scale tests' cluster: nodes started through the CLI by the nemesis (node i on 127.0.0.{i+2}),
// a dnsmasq on a loopback port naming the members as a StatefulSet's headless Service would
// (SRV `_http._tcp.dcache.test` → `dcache-<i>.dcache.test` → the node's address), load workers in
// processes of their own following those records, and the scale step: rewrite the records. The
// nodes resolve the same names from one hosts file, bind-mounted on /etc/hosts in each node's own
// mount namespace and rewritten with the records, so a node reaches the peers clients name — to
// deliver hints, as pods reach each other through the cluster's DNS.
// `cleanup()` undoes all of it (workers, nodes, dnsmasq, temp files), also after a failure.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributedCacheClient } from '../../src/index.js';
import type { ClientOptions } from '../../src/index.js';
import { startDnsmasq } from '../dnsmasq.js';
import type { Dnsmasq, DnsRecords } from '../dnsmasq.js';
import { HistoryRecorder, now } from '../faults/history.js';
import type { Operation } from '../faults/history.js';
import { Nemesis } from '../faults/nemesis.js';
import { clusterCounters } from '../faults/replication-counters.js';
import type { NodeCounter, NodeCounters } from '../faults/replication-counters.js';
import { runPlan } from '../faults/worker.js';
import { LoadProcess } from './load-process.js';
import type { LoadOptions } from './load-worker.js';

export const SRV = '_http._tcp.dcache.test';
export const DISCOVERY_URL = `dns+srv://${SRV}`;
/** Node i's pod name. */
export const podName = (i: number): string => `dcache-${i}.dcache.test`;

/**
 * The CLI's defaults but one: `--stall-threshold` 2000 instead of 1000 ms. These tests run 4 nodes,
 * 2 load processes and dnsmasq on 2 cores shared with other builds, where the scheduler alone
 * leaves an event loop idle over a second now and then; the node then fences what it holds (it may
 * have missed writes) and serves misses until peers vouch — a real dip, but the machine's, not the
 * scale step's, which is what these tests measure. The fault tests cover the stall fence.
 */
const STALL_THRESHOLD_MS = 2000;

export interface ScaleClusterOptions {
  /** Nodes started (indices 0 … nodes − 1). */
  nodes: number;
  /** Which of them DNS names at first. */
  members: readonly number[];
  /** `--snapshot-file` for each node (for restarts from a snapshot). */
  snapshots?: boolean;
}

export class ScaleCluster {
  readonly nemesis: Nemesis;
  readonly dns: Dnsmasq;
  readonly #dir: string;
  readonly #hostsFile: string;
  readonly #loads: LoadProcess[] = [];
  #members: number[];

  private constructor(
    nemesis: Nemesis,
    dns: Dnsmasq,
    dir: string,
    hostsFile: string,
    members: number[],
  ) {
    this.nemesis = nemesis;
    this.dns = dns;
    this.#dir = dir;
    this.#hostsFile = hostsFile;
    this.#members = members;
  }

  static async start(options: ScaleClusterOptions): Promise<ScaleCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'dcache-scale-'));
    const hostsFile = join(dir, 'node-hosts');
    writeNodeHosts(hostsFile, { srv: [], hosts: {} });
    let nemesis: Nemesis | undefined;
    try {
      nemesis = await Nemesis.start({
        nodes: options.nodes,
        snapshots: options.snapshots === true,
        stallThresholdMs: STALL_THRESHOLD_MS,
        hostsFile,
      });
      const initial = records(nemesis, options.members);
      writeNodeHosts(hostsFile, initial);
      const dns = await startDnsmasq(initial);
      return new ScaleCluster(nemesis, dns, dir, hostsFile, [...options.members]);
    } catch (error) {
      await nemesis?.cleanup();
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get members(): readonly number[] {
    return this.#members;
  }

  /** Node i as clients name it: pod name and port. */
  url(i: number): string {
    return `http://${podName(i)}:${this.nemesis.nodes[i]!.port}`;
  }

  /**
   * Rewrites the records to name `members`; resolves once dnsmasq answers with them: `requestedAt`
   * when the rewrite began, `servedAt` when the new records were served (`now()` times).
   */
  async scaleTo(members: readonly number[]): Promise<{ requestedAt: number; servedAt: number }> {
    const requestedAt = now();
    this.#members = [...members];
    const next = records(this.nemesis, members);
    writeNodeHosts(this.#hostsFile, next);
    await this.dns.update(next);
    return { requestedAt, servedAt: now() };
  }

  /** A client following the records, for the test's own calls; close it. */
  client(options: ClientOptions = {}): DistributedCacheClient {
    return new DistributedCacheClient(DISCOVERY_URL, {
      ...options,
      discovery: { servers: [this.dns.server], intervalMs: 250, timeoutMs: 200 },
      onDiscoveryError: () => undefined,
    });
  }

  /** Writes `pre-<key>` to every key, recorded for the checker (keys must then be read warm). */
  async prefill(keys: readonly string[], options: ClientOptions): Promise<Operation[]> {
    const client = this.client({ ...options, writeConsistency: 'all' });
    const recorder = new HistoryRecorder('prefill');
    try {
      // As the load workers do: a first lookup that outlasts its 200 ms on a loaded machine would
      // fail every write made meanwhile; ready() waits for the lookup that finds the nodes.
      await client.ready();
      await runPlan(
        client,
        recorder,
        keys.map((key) => ({ op: 'set', key, value: `pre-${key}` })),
        32,
      );
    } finally {
      await client.close();
    }
    const failed = recorder.operations.filter((op) => op.outcome !== 'ok');
    if (failed.length > 0)
      throw new Error(`prefill: ${failed.length} writes failed: ${failed[0]!.error}`);
    return recorder.operations;
  }

  /** Starts a load worker following the records (its `discovery.servers` set here). */
  load(options: Omit<LoadOptions, 'nodes'>): LoadProcess {
    const discovery = { ...options.client.discovery, servers: [this.dns.server] };
    const load = new LoadProcess(
      { ...options, nodes: DISCOVERY_URL, client: { ...options.client, discovery } },
      join(this.#dir, `${options.process}.jsonl`),
    );
    this.#loads.push(load);
    return load;
  }

  /** Each running node's never-stale counters, from its /v1/stats. */
  counters(): Promise<NodeCounters[]> {
    const up = this.nemesis.nodes.filter((node) => node.state === 'up');
    return clusterCounters(up.map((node) => node.url));
  }

  async cleanup(): Promise<void> {
    try {
      await Promise.all(this.#loads.splice(0).map((load) => load.killed()));
    } finally {
      try {
        await this.dns.stop();
      } finally {
        await this.nemesis.cleanup();
        rmSync(this.#dir, { recursive: true, force: true });
      }
    }
  }
}

function records(nemesis: Nemesis, members: readonly number[]): DnsRecords {
  const nodes = members.map((i) => nemesis.nodes[i]!);
  return {
    srv: nodes.map((node) => ({ name: SRV, target: podName(node.index), port: node.port })),
    hosts: Object.fromEntries(nodes.map((node) => [podName(node.index), [node.host]])),
  };
}

/**
 * The nodes' /etc/hosts: localhost, and the names the records give. Written in place: the bind
 * mounts hold the file's inode, so a rename would not reach them. A lookup that falls between the
 * truncation and the write finds no name, as during a DNS hiccup; a hint's delivery is retried.
 */
function writeNodeHosts(file: string, next: DnsRecords): void {
  const lines = ['127.0.0.1 localhost', '::1 localhost'];
  for (const [name, addresses] of Object.entries(next.hosts)) {
    for (const address of addresses) lines.push(`${address} ${name}`);
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
}

/** The counters that explain misses and hint delivery, for the log. */
const LOGGED: readonly NodeCounter[] = [
  'stalls',
  'fences',
  'verifications',
  'staleReadsPrevented',
  'restoredKeys',
  'hintsStored',
  'hintsReplayed',
  'hintsDropped',
];

/** One line per node: `<url>: stalls 0, fences 1, …`. */
export function countersText(nodes: readonly NodeCounters[]): string {
  return nodes
    .map(
      (node) =>
        `${node.url}: ${LOGGED.map((name) => `${name} ${String(node.values[name])}`).join(', ')}`,
    )
    .join('\n');
}
