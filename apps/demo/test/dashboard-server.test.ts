import { connect } from 'node:net';
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

  it('answers a request target that is no URL 400, in the JSON error shape, and keeps serving', async () => {
    const { url } = await start();
    // fetch cannot send `//[`; a hand-typed request can (curl --path-as-is, nc).
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.write('GET //[ HTTP/1.1\r\nhost: dashboard\r\nconnection: close\r\n\r\n');
    const reply = await new Promise<string>((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      socket.once('end', () => resolve(text));
      socket.once('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain(
      JSON.stringify({ error: { code: 'bad_request', message: 'the request target is no URL' } }),
    );
    expect((await fetch(`${url}/api/cluster`)).status).toBe(200);
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
