import { afterEach, describe, expect, it } from 'vitest';
import { ClusterPoller } from '../src/dashboard/cluster-poller.js';
import { startDashboard } from '../src/dashboard/dashboard-server.js';
import type { Dashboard } from '../src/dashboard/dashboard-server.js';

// Port 1 on loopback refuses: the poller has something to report without any node running.
const NODE = 'http://127.0.0.1:1';

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});

async function start(): Promise<Dashboard> {
  dashboard = await startDashboard({ poller: new ClusterPoller({ urls: [NODE] }), port: 0 });
  return dashboard;
}

describe('the dashboard server', () => {
  it('serves the page at / and the polled view as JSON at /api/cluster, never cached', async () => {
    const { url } = await start();
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('/api/cluster');

    const api = await fetch(`${url}/api/cluster?since=1`);
    expect(api.status).toBe(200);
    expect(api.headers.get('content-type')).toBe('application/json');
    expect(api.headers.get('cache-control')).toBe('no-store');
    const view = (await api.json()) as { time: number; nodes: { url: string; up: boolean }[] };
    expect(view.nodes).toEqual([expect.objectContaining({ url: NODE, up: false })]);
  });

  it('answers an unknown path 404 and a write 405, in the JSON error shape', async () => {
    const { url } = await start();
    const missing = await fetch(`${url}/api/nodes`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: { code: 'not_found', message: 'no route /api/nodes' },
    });

    const post = await fetch(`${url}/api/cluster`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(await post.json()).toEqual({
      error: { code: 'method_not_allowed', message: '/api/cluster only answers GET' },
    });
  });

  it('names the flags to use when its port is taken', async () => {
    const first = await start();
    const port = Number(new URL(first.url).port);
    await expect(
      startDashboard({ poller: new ClusterPoller({ urls: [NODE] }), port }),
    ).rejects.toThrow(
      `the dashboard's port ${port} is taken: pass --dashboard-port <n> or --no-dashboard`,
    );
  });
});
