import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DistributedCacheClient } from '@dcache/client';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster } from '../src/cluster.js';
import { ClusterPoller } from '../src/dashboard/cluster-poller.js';
import { startDashboard } from '../src/dashboard/dashboard-server.js';
import type { Dashboard } from '../src/dashboard/dashboard-server.js';
import { startNodes } from './helpers/nodes.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let cluster: Cluster;
let dashboard: Dashboard;
let browser: Browser;
let page: Page;
/** Set DASHBOARD_SCREENSHOTS=<dir> to keep the two screenshots; by default they go to a temp dir removed afterwards. */
const keepScreenshots = process.env.DASHBOARD_SCREENSHOTS;
let screenshots: string;

beforeAll(async () => {
  screenshots = keepScreenshots ?? (await mkdtemp(join(tmpdir(), 'dcache-dashboard-')));
  cluster = await startNodes(3, { args: ['--max-memory', '4mb'] });
  dashboard = await startDashboard({ poller: new ClusterPoller({ urls: cluster.urls }), port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1100, height: 520 } });
});

/** What the scale test started, stopped in afterAll also when it fails. */
const scaled: { cluster?: Cluster; dashboard?: Dashboard; client?: DistributedCacheClient } = {};

afterAll(async () => {
  await scaled.client?.close();
  await scaled.dashboard?.close();
  await scaled.cluster?.stop();
  await browser?.close();
  await dashboard?.close();
  await cluster?.stop();
  if (keepScreenshots === undefined && screenshots !== undefined)
    await rm(screenshots, { recursive: true, force: true });
});

const card = (nodeId: string): string => `section.node[data-node="${nodeId}"]`;
const field = (nodeId: string, name: string): string => `${card(nodeId)} [data-field="${name}"]`;

/** Writes and reads keys straight against one node, so its counters move while the page watches. */
async function traffic(url: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await fetch(`${url}/v1/keys/k${i}`, {
      method: 'PUT',
      body: 'v'.repeat(2000),
      headers: { 'content-type': 'text/plain' },
    });
    const response = await fetch(`${url}/v1/keys/k${i % 2 === 0 ? i : `missing${i}`}`);
    await response.body?.cancel();
  }
}

describe('the live dashboard in a real browser', () => {
  it('shows the three nodes with live numbers, then marks a SIGKILLed node down', async () => {
    await page.goto(dashboard.url);
    for (const node of cluster.nodes) {
      await page.locator(`${card(node.nodeId)}[data-up="true"]`).waitFor();
      expect(await page.textContent(field(node.nodeId, 'status'))).toBe('UP');
    }
    expect(await page.locator('section.node').count()).toBe(3);

    // Traffic on node-1 must show up as items, memory, hit rate and a non-zero ops/s.
    const busy = cluster.nodes[0]!;
    let stopTraffic = false;
    const load = (async () => {
      while (!stopTraffic) await traffic(busy.url, 50);
    })();
    const text = (selector: string): Promise<string | null> => page.textContent(selector);
    await expect
      .poll(
        async () => Number((await text(field(busy.nodeId, 'opsPerSecond')))?.replace(/,/g, '')),
        {
          timeout: 10_000,
        },
      )
      .toBeGreaterThan(0);
    stopTraffic = true;
    await load;
    // Once the load has stopped the counters settle: every loop wrote 50 keys and read half of them back.
    // The page shows what the demo polled up to a second ago and refreshes every second.
    const refreshes = { timeout: 10_000 };
    await expect.poll(() => text(field(busy.nodeId, 'items')), refreshes).toBe('50');
    await expect.poll(() => text(field(busy.nodeId, 'hitRate')), refreshes).toBe('50.0%');
    expect(await text(field(busy.nodeId, 'memory'))).toMatch(/^\d+\.\d KiB \/ 4\.0 MiB$/);
    const memoryBar = await page.getAttribute(`${card(busy.nodeId)} [data-bar="memory"]`, 'style');
    expect(memoryBar).toMatch(/width: \d/);
    expect(parseFloat(memoryBar!.replace('width:', ''))).toBeGreaterThan(0);

    // Ring shares are fractions of sampled keys: together they cover the whole ring.
    const shares = (await page.locator('[data-field="share"]').allTextContents()).map(parseFloat);
    expect(shares).toHaveLength(3);
    for (const share of shares) expect(share).toBeGreaterThan(20);
    expect(shares.reduce((sum, share) => sum + share, 0)).toBeCloseTo(100, 0);

    const screenshot = join(screenshots, 'dashboard.png');
    await page.screenshot({ path: screenshot });
    expect((await stat(screenshot)).size).toBeGreaterThan(10_000);

    const victim = cluster.nodes[1]!;
    await victim.kill('SIGKILL');
    await page.locator(`${card(victim.nodeId)}[data-up="false"]`).waitFor({ timeout: 10_000 });
    expect(await page.textContent(field(victim.nodeId, 'status'))).toBe('DOWN');
    expect(await page.textContent(field(victim.nodeId, 'error'))).toBe(
      'unreachable: connection refused',
    );
    expect(await page.textContent('#summary')).toMatch(/^2 of 3 nodes up · 50 items/);
    for (const other of [cluster.nodes[0]!, cluster.nodes[2]!]) {
      expect(await page.textContent(field(other.nodeId, 'status'))).toBe('UP');
    }
    await page.screenshot({ path: join(screenshots, 'dashboard-down.png') });
  });
});

describe('the ring and its transition window in a real browser', () => {
  it('shows a fourth node joining and leaving, and the window opening, finding keys and closing', async () => {
    const nodes = await startNodes(3, {
      args: ['--max-memory', '4mb', '--stall-threshold', '3000'],
    });
    scaled.cluster = nodes;
    const client = new DistributedCacheClient(nodes.urls, {
      replicas: 1,
      transition: { quietMs: 1000, maxWindowMs: 30_000 },
    });
    scaled.client = client;
    const poller = new ClusterPoller({
      urls: nodes.urls,
      intervalMs: 250,
      transition: () => client.getTransitionStats(),
    });
    scaled.dashboard = await startDashboard({ poller, port: 0 });
    const view = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    await view.goto(scaled.dashboard.url);
    const text = (selector: string): Promise<string | null> => view.textContent(selector);
    const windowState = (): Promise<string | null> =>
      view.getAttribute('#transition', 'data-state');
    const count = async (name: string): Promise<number> =>
      Number((await text(`#transition [data-field="${name}"]`))?.replace(/,/g, ''));
    const refreshes = { timeout: 10_000 };

    await expect
      .poll(() => text('#ring [data-field="members"]'), refreshes)
      .toBe('3 nodes: node-1, node-2, node-3');
    expect(await windowState()).toBe('none');
    const keys = Array.from({ length: 400 }, (_, i) => `item:${i}`);
    expect(await client.setMany(keys.map((key) => [key, key] as const))).toBe(true);

    // node-4 joins: four cards, the window opens, and reads find the moved keys on their old owners.
    await nodes.spare.start();
    client.addNode(nodes.spare.url);
    poller.setUrls([...nodes.urls, nodes.spare.url]);
    await expect.poll(() => view.locator('section.node').count(), refreshes).toBe(4);
    await expect
      .poll(() => text('#ring [data-field="members"]'), refreshes)
      .toBe('4 nodes: node-1, node-2, node-3, node-4');
    await expect.poll(windowState, refreshes).toBe('open');
    expect(await text('#transition [data-field="window"]')).toMatch(/^OPEN since /);
    const found = await client.getMany(keys);
    expect(found.size).toBe(keys.length);
    await expect.poll(() => count('fallbackHits'), refreshes).toBeGreaterThan(50);
    await expect.poll(() => count('backfilled'), refreshes).toBeGreaterThan(50);
    await view.screenshot({ path: join(screenshots, 'dashboard-scaling.png') });
    // No read finds anything on an old owner any more: the window goes quiet and closes.
    await expect.poll(windowState, { timeout: 15_000 }).toBe('closed');
    expect(await text('#transition [data-field="window"]')).toBe('closed (quiet)');

    // node-4 leaves: three cards again, and a second window.
    await client.removeNode(nodes.spare.url);
    poller.setUrls(nodes.urls);
    await expect.poll(() => view.locator('section.node').count(), refreshes).toBe(3);
    await expect.poll(windowState, refreshes).toBe('open');
    expect(await count('transitions')).toBe(2);
    await view.close();
  });
});
