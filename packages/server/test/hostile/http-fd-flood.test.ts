import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';
import { connectionsFitting } from '../../src/fd-limit.js';
import { destroySockets, rawClient, rssBound, rssSampler } from './http-sockets.js';
import type { RawClient } from './http-sockets.js';
import { EVENTUALLY } from '../eventually.js';

const NOFILE = 256;
const FLOOD = 400;

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

/** Opens FLOOD idle connections; resolves once the node has settled which it keeps. */
async function flood(node: CliNode): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < FLOOD; i++) clients.push(await rawClient(node));
  return clients;
}

async function healthy(node: CliNode): Promise<void> {
  await vi.waitFor(
    async () => {
      const res = await fetch(`${node.url}/healthz`);
      expect(res.status).toBe(200);
    },
    { timeout: 10_000, interval: 200 },
  );
}

describe(`an fd flood on the HTTP door under ulimit -n ${NOFILE}`, () => {
  it('keeps at most the default maxConnections open, stays up, and serves once the flood ends', async () => {
    const node = await startCliNode(['--log-level', 'warn'], { openFileLimit: NOFILE });
    const rss = rssSampler(node);
    const clients = await flood(node);
    const kept = connectionsFitting(NOFILE, 1);
    // The node drops what passes its limit right after accepting it.
    await vi.waitFor(
      () => expect(clients.filter((c) => !c.socket.destroyed).length).toBeLessThanOrEqual(kept),
      EVENTUALLY,
    );
    expect(clients.filter((c) => !c.socket.destroyed).length).toBeGreaterThan(kept / 2);
    destroySockets();
    await healthy(node);
    expect(rss.stop()).toBeLessThan(rssBound());
    expect(node.child.exitCode).toBeNull();
  });

  it('with maxConnections past the fd limit: connections past it are closed (EMFILE), the node stays up', async () => {
    const node = await startCliNode(['--max-connections', '5000', '--log-level', 'warn'], {
      openFileLimit: NOFILE,
    });
    const clients = await flood(node);
    // libuv accepts and closes what it has no descriptor for, instead of failing the server.
    await vi.waitFor(
      () => expect(clients.filter((c) => !c.socket.destroyed).length).toBeLessThan(NOFILE),
      EVENTUALLY,
    );
    expect(node.child.exitCode).toBeNull();
    destroySockets();
    await healthy(node);
  });

  it('closes idle connections that never send a request at the headers timeout', async () => {
    const node = await startCliNode(['--headers-timeout', '1000', '--log-level', 'warn'], {
      openFileLimit: NOFILE,
    });
    const clients = await flood(node);
    const started = performance.now();
    await Promise.all(clients.map((c) => c.closed));
    expect(performance.now() - started).toBeLessThan(4000);
    await healthy(node);
  });
});
