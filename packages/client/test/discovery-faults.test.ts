// DNS discovery when DNS misbehaves — SERVFAIL, no answer, an empty answer, a flapping record set,
// answers in another order — served by a small real DNS server on a loopback port, against real
// nodes started through the CLI on 127.0.0.2–127.0.0.4.
import { Resolver } from 'node:dns/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DISCOVERY_WARNING, DistributedCacheClient, isDiscoveryError } from '../src/index.js';
import type { ClientOptions, DiscoveryError, DiscoveryFailure } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';
import { waitFor } from './cluster.js';
import { closeAllResponders, startResponder } from './dns-responder.js';
import type { ResponderRecords } from './dns-responder.js';

const SRV = '_http._tcp.dcache.test';
const URL = `dns+srv://${SRV}`;
const INTERVAL_MS = 200;
const podName = (i: number): string => `dcache-${i}.dcache.test`;

const clients: DistributedCacheClient[] = [];
let nodes: CliNode[] = [];

beforeAll(async () => {
  nodes = await Promise.all(
    ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((host) => startCliNode(host)),
  );
});
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await closeAllResponders();
});
afterAll(async () => {
  await stopCliNodes();
});

/** SRV records for nodes `indexes`, in that order. */
function records(indexes: readonly number[]): ResponderRecords {
  return {
    srv: { [SRV]: indexes.map((i) => ({ target: podName(i), port: nodes[i]!.port })) },
    hosts: Object.fromEntries(nodes.map((node, i) => [podName(i), [node.host]])),
  };
}
const urlOf = (i: number): string => `http://${podName(i)}:${nodes[i]!.port}`;

interface Reported {
  error: DiscoveryError;
  failure: DiscoveryFailure;
}

function discover(server: string, options: ClientOptions = {}, reported: Reported[] = []) {
  const client = new DistributedCacheClient(URL, {
    timeout: 10_000,
    discovery: { servers: [server], intervalMs: INTERVAL_MS, timeoutMs: 100 },
    onDiscoveryError: (error, failure) => reported.push({ error, failure }),
    ...options,
  });
  clients.push(client);
  return client;
}

const routes = (client: DistributedCacheClient): string[][] =>
  Array.from({ length: 1000 }, (_, i) => client.nodesFor(`key-${i}`));

async function discoveryStats(client: DistributedCacheClient) {
  return (await client.getStats()).discovery!;
}

describe('answer order', () => {
  it('two clients whose resolvers list the records in different orders build the same ring', async () => {
    const forward = await startResponder(records([0, 1, 2]));
    const backward = await startResponder(records([2, 0, 1]));
    // The answers really differ in order.
    const asked = async (server: string): Promise<string[]> => {
      const resolver = new Resolver({ timeout: 200, tries: 1 });
      resolver.setServers([server]);
      return (await resolver.resolveSrv(SRV)).map((record) => record.name);
    };
    expect(await asked(forward.server)).toStrictEqual([podName(0), podName(1), podName(2)]);
    expect(await asked(backward.server)).toStrictEqual([podName(2), podName(0), podName(1)]);

    const a = discover(forward.server);
    const b = discover(backward.server);
    await Promise.all([a.ready(), b.ready()]);
    expect(a.nodes).toStrictEqual(b.nodes);
    expect(routes(a)).toStrictEqual(routes(b));
    // The same ring a fixed list of the pods' names gives: discovery adds no identity of its own.
    const fixed = new DistributedCacheClient([urlOf(2), urlOf(1), urlOf(0)]);
    clients.push(fixed);
    expect(routes(a)).toStrictEqual(routes(fixed));
  });
});

describe('a lookup that fails keeps the last good ring and says so', () => {
  it.each([
    ['SERVFAIL', 'servfail', 'ESERVFAIL', false],
    ['no answer (a timeout)', 'silent', 'ETIMEOUT', false],
    ['an empty answer (NOERROR, no records)', 'empty', 'ENODATA', true],
    ['NXDOMAIN', 'nxdomain', 'ENOTFOUND', true],
  ] as const)('%s', async (_name, behaviour, code, empty) => {
    const dns = await startResponder(records([0, 1, 2]));
    const reported: Reported[] = [];
    const client = discover(dns.server, {}, reported);
    expect(await client.set('before', 1)).toBe(true);
    const nodesBefore = client.nodes;
    const routing = routes(client);

    dns.behave(behaviour);
    await waitFor(() => reported.length >= 2, `two failed lookups (${code})`);
    expect(client.nodes).toStrictEqual(nodesBefore);
    expect(routes(client)).toStrictEqual(routing);
    // The cluster still serves.
    expect(await client.get('before')).toBe(1);
    expect(await client.set('during', 2)).toBe(true);

    expect(isDiscoveryError(reported[0]!.error)).toBe(true);
    expect(reported[0]!.error).toMatchObject({ code, empty, url: URL, dnsName: SRV });
    expect(reported[0]!.error.message).toContain(code);
    expect(reported.map(({ failure }) => failure.consecutiveFailures).slice(0, 2)).toStrictEqual([
      1, 2,
    ]);
    expect(reported[0]!.failure.nodes).toStrictEqual(nodesBefore);
    const failing = await discoveryStats(client);
    expect(failing.failures).toBeGreaterThanOrEqual(2);
    expect(failing.emptyAnswers).toBe(empty ? failing.failures : 0);
    expect(failing.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(failing.lastError).toBe(reported.at(-1)!.error.message);
    expect(failing.nodes).toStrictEqual(nodesBefore);

    dns.behave('records');
    await waitFor(
      async () => (await discoveryStats(client)).consecutiveFailures === 0,
      'a good lookup',
    );
    expect(client.nodes).toStrictEqual(nodesBefore);
  });

  it('an SRV target without addresses keeps the ring too (a partial answer must not shrink it)', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    const reported: Reported[] = [];
    const client = discover(dns.server, {}, reported);
    await client.ready();
    const good = records([0, 1, 2]);
    dns.set({ ...good, hosts: { ...good.hosts, [podName(1)]: [] } });
    await waitFor(() => reported.length >= 1, 'a failed lookup');
    expect(reported[0]!.error).toMatchObject({ code: 'ENODATA', dnsName: podName(1), empty: true });
    expect(client.nodes).toStrictEqual([urlOf(0), urlOf(1), urlOf(2)]);
  });

  it('a record set flapping between two answers does not move keys: the change is not confirmed', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    const reported: Reported[] = [];
    const memberships: unknown[] = [];
    const client = discover(
      dns.server,
      { onMembershipChange: (change) => memberships.push(change) },
      reported,
    );
    await client.ready();
    const routing = routes(client);

    // Each SRV query gets the other answer: every lookup that sees a change is contradicted by the
    // one that re-asks at once.
    dns.flap([records([0, 1]), records([0, 1, 2])]);
    await waitFor(() => reported.length >= 3, 'three flaps');
    expect(reported.every(({ error }) => error.code === 'EFLAPPED' && !error.empty)).toBe(true);
    expect(reported[0]!.error.message).toMatch(/gave another node list when asked again at once/);
    expect(routes(client)).toStrictEqual(routing);
    expect(memberships).toHaveLength(1);
    const stats = await discoveryStats(client);
    expect(stats.flaps).toBeGreaterThanOrEqual(3);
    expect(stats.changes).toBe(1);

    // A change that holds is applied at the next lookup.
    dns.set(records([0, 1]));
    await waitFor(() => client.nodes.length === 2, 'the confirmed change', {
      timeoutMs: 10 * INTERVAL_MS,
    });
    expect(memberships).toHaveLength(2);
  });

  it('without onDiscoveryError, the first failure of a streak is a process warning', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const dns = await startResponder(records([0, 1, 2]));
    const client = discover(dns.server, { onDiscoveryError: undefined });
    await client.ready();
    dns.behave('servfail');
    await waitFor(async () => (await discoveryStats(client)).failures >= 3, 'three failures');
    const ours = () =>
      warn.mock.calls.filter(
        ([, options]) => (options as { code?: string })?.code === DISCOVERY_WARNING,
      );
    expect(ours()).toHaveLength(1);
    expect(String(ours()[0]![0])).toMatch(/ESERVFAIL.*keeping 3 nodes/);
    // A new streak after a good lookup warns again.
    dns.behave('records');
    await waitFor(
      async () => (await discoveryStats(client)).consecutiveFailures === 0,
      'a good lookup',
    );
    dns.behave('servfail');
    await waitFor(() => ours().length === 2, 'the second streak');
  });
});

describe('a resolver slow to answer (within the timeout)', () => {
  it("keeps a client's transition window open until a client whose lookups are slow has changed its ring", async () => {
    // Two clients following the same records, one through a resolver that answers every query
    // 300 ms late — within its 400 ms timeout: no lookup of it fails. A lookup of SRV records is an
    // SRV query, then the targets' address queries; a change is applied after a second lookup.
    const intervalMs = 300;
    const timeoutMs = 400;
    const fast = await startResponder(records([0, 1, 2]));
    const slow = await startResponder(records([0, 1, 2]));
    slow.delay(300);
    const options = (server: string): ClientOptions => ({
      replicas: 1,
      discovery: { servers: [server], intervalMs, timeoutMs },
      transition: { quietMs: 100, maxWindowMs: 30_000 },
    });
    const reader = discover(fast.server, options(fast.server));
    const writer = discover(slow.server, options(slow.server));
    await Promise.all([reader.ready(), writer.ready()]);
    const keys = Array.from({ length: 300 }, (_, i) => `slow-dns-${i}`);
    const moving = keys.filter((key) => reader.nodesFor(key)[0] === urlOf(2));
    expect(moving.length).toBeGreaterThan(20);
    await Promise.all(moving.map((key) => reader.set(key, 'v1')));

    // The records drop node 2 just after the slow resolver took a query: the writer's lookup under
    // way ends with the old records, and the next one starts an interval later.
    const asked = slow.srvQueries();
    await waitFor(() => slow.srvQueries() > asked, "the slow resolver's next SRV query", {
      intervalMs: 1,
    });
    fast.set(records([0, 1]));
    slow.set(records([0, 1]));
    await waitFor(() => reader.nodes.length === 2, 'the reader to drop node 2');
    // The reader's reads find the keys on node 2 and copy them to their new owners.
    for (const key of moving) expect(await reader.get(key)).toBe('v1');
    await waitFor(() => !reader.getTransitionStats().open, "the reader's window to close", {
      timeoutMs: 10_000,
    });

    // The writer, not failing, has not seen the change yet if the window closed too soon: its
    // sets go to node 2 only, and nothing tells the reader.
    await Promise.all(moving.map((key) => writer.set(key, 'v2')));
    const read = await Promise.all(moving.map((key) => reader.get(key)));
    expect((await discoveryStats(writer)).failures).toBe(0);
    expect(read.filter((value) => value !== 'v2')).toStrictEqual([]);
  });

  it('a lookup longer than two timeouts fails (ETIMEOUT) rather than be applied late', async () => {
    // The first resolver never answers; the second answers each query in 180 ms, within the
    // 300 ms timeout. The first lookup's SRV query waits out the first resolver (300 ms or more,
    // Node's resolver backs off), then the second's answer, then the address query: over 600 ms.
    const silent = await startResponder(records([0, 1, 2]));
    silent.behave('silent');
    const slow = await startResponder(records([0, 1, 2]));
    slow.delay(180);
    const reported: Reported[] = [];
    const servers = [silent.server, slow.server];
    const client = discover(
      slow.server,
      { discovery: { servers, intervalMs: 100, timeoutMs: 300 } },
      reported,
    );
    await client.ready();
    expect(reported[0]?.error).toMatchObject({ code: 'ETIMEOUT' });
    expect(client.nodes).toHaveLength(3);
  });
});

describe('before the first good lookup', () => {
  it('calls reject with the DiscoveryError; lookups go on; ready() resolves once nodes are found', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    dns.behave('servfail');
    const client = discover(dns.server);
    // A call made while the first lookup runs waits for it, then rejects with its error.
    const error = await client.get('k').catch((caught: unknown) => caught);
    expect(isDiscoveryError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'ESERVFAIL' });
    await expect(client.set('k', 1)).rejects.toThrow(
      /DNS discovery of dns\+srv:\/\/_http\._tcp\.dcache\.test: looking up _http\._tcp\.dcache\.test failed \(ESERVFAIL\)/,
    );
    expect(client.nodes).toStrictEqual([]);
    expect(client.nodesFor('k')).toStrictEqual([]);

    const ready = client.ready();
    const queries = dns.srvQueries();
    await waitFor(() => dns.srvQueries() >= queries + 2, 'more lookups');
    dns.behave('records');
    await ready;
    expect(client.nodes).toStrictEqual([urlOf(0), urlOf(1), urlOf(2)]);
    expect(await client.set('k', 1)).toBe(true);
    expect(await client.get('k')).toBe(1);
  });

  it('ready() stops waiting when its signal aborts', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    dns.behave('silent');
    const client = discover(dns.server);
    await expect(client.ready({ signal: AbortSignal.timeout(50) })).rejects.toThrow(
      /timeout|aborted/i,
    );
  });
});

describe('close()', () => {
  it('before nodes were found: ready() and waiting calls reject, saying so', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    dns.behave('silent');
    const client = discover(dns.server);
    const outcome = (call: Promise<unknown>): Promise<unknown> =>
      call.catch((error: unknown) => error);
    const ready = outcome(client.ready());
    const waiting = outcome(client.get('k'));
    await client.close();
    expect(String(await ready)).toMatch(
      /DcacheError: the client was closed before DNS discovery found nodes/,
    );
    expect(String(await waiting)).toMatch(
      /DcacheError: the client was closed before DNS discovery found nodes/,
    );
  });

  it('stops the lookups', async () => {
    const dns = await startResponder(records([0, 1, 2]));
    const client = discover(dns.server);
    await client.ready();
    await waitFor(() => dns.srvQueries() >= 2, 'a second lookup');
    await client.close();
    const after = dns.queries();
    // Absence can only be shown by waiting: three intervals, bounded.
    await new Promise((resolve) => setTimeout(resolve, 3 * INTERVAL_MS));
    expect(dns.queries()).toBe(after);
  });
});
