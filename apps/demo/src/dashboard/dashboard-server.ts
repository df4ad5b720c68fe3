import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DemoError } from '../demo-error.js';
import type { ClusterPoller } from './cluster-poller.js';
import { PAGE_HTML } from './page.js';

export interface Dashboard {
  url: string;
  close(): Promise<void>;
}

export interface DashboardOptions {
  poller: ClusterPoller;
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/** The request target's path; undefined when it is no URL at all (e.g. `//[`, typed by hand). */
function pathOf(target: string): string | undefined {
  try {
    return new URL(target, 'http://dashboard').pathname;
  } catch {
    return undefined;
  }
}

/** Serves the page at / and the poller's latest view at /api/cluster; nothing else. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const { poller, host = '127.0.0.1', port = 8080 } = options;
  const server = createServer((request, response) => {
    // An unparsable target must get an answer: a throw here would crash the demo, nodes and all.
    const path = pathOf(request.url ?? '/');
    if (path === undefined) {
      send(
        response,
        400,
        'application/json',
        JSON.stringify({ error: { code: 'bad_request', message: 'the request target is no URL' } }),
      );
    } else if (path !== '/' && path !== '/api/cluster') {
      send(
        response,
        404,
        'application/json',
        JSON.stringify({ error: { code: 'not_found', message: `no route ${path}` } }),
      );
    } else if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      send(
        response,
        405,
        'application/json',
        JSON.stringify({
          error: { code: 'method_not_allowed', message: `${path} only answers GET` },
        }),
      );
    } else if (path === '/') {
      send(response, 200, 'text/html; charset=utf-8', PAGE_HTML);
    } else {
      send(response, 200, 'application/json', JSON.stringify(poller.view));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new DemoError(
              `the dashboard's port ${port} is taken: pass --dashboard-port <n> or --no-dashboard`,
              { cause: error },
            )
          : error,
      );
    });
    server.listen(port, host, () => resolve());
  });
  poller.start();
  const address = server.address() as AddressInfo;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${address.port}`,
    async close() {
      poller.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
