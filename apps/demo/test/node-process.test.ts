import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DemoError } from '../src/demo-error.js';
import { NodeProcess } from '../src/node-process.js';
import { isAlive } from './helpers/ports.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Something answering on a port the way a dcache node would (our node when `nodeId` is ours), its
 * `/v1/stats` after `statsDelayMs`, as a node on a loaded machine may.
 */
async function strayNode(nodeId: string, statsDelayMs = 0): Promise<number> {
  const server: Server = createServer((request, response) => {
    response.setHeader('content-type', 'application/json');
    if (request.url !== '/v1/stats') return response.end('{"ok":true}');
    setTimeout(() => response.end(JSON.stringify({ nodeId })), statsDelayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as AddressInfo).port;
}

/** A stand-in `dcache-server` bin: runs `source` instead of a node. */
async function fakeBin(source: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dcache-node-process-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const bin = join(dir, 'fake-server.js');
  await writeFile(bin, source);
  return bin;
}

/** Says it listens, as dcache-server does, but does not: the only answer on the port is the stray's. */
const claimsToListen = (port: number): Promise<string> =>
  fakeBin(`console.log('listening on http://127.0.0.1:${port}'); setInterval(() => {}, 1000);\n`);

/** Fails to bind the way dcache-server does when the port is taken, a moment after starting. */
const portTaken = (port: number): Promise<string> =>
  fakeBin(
    `setTimeout(() => { console.error('cannot listen on 127.0.0.1:${port}: EADDRINUSE'); process.exit(1); }, 1000);\n`,
  );

/** node-1 on `port`, run with `bin`, killed after the test. */
function nodeOn(port: number, bin: string): NodeProcess {
  const node = new NodeProcess({ bin, nodeId: 'node-1', host: '127.0.0.1', port });
  cleanups.push(() => node.kill());
  return node;
}

describe('NodeProcess.start', () => {
  it('refuses a port answered by some other node, and kills the process it spawned', async () => {
    const port = await strayNode('someone-else');
    const node = nodeOn(port, await claimsToListen(port));

    const started = node.start();
    await expect(started).rejects.toThrow(DemoError);
    await expect(started).rejects.toThrow(`port ${port} is answered by someone-else, not node-1`);
    expect(node.running).toBe(false);
    expect(isAlive(node.pid!)).toBe(false);
  });

  it('does not take a node of the same name already on the port (another demo still running) for its own', async () => {
    const port = await strayNode('node-1');
    const node = nodeOn(port, await portTaken(port));

    await expect(node.start()).rejects.toThrow(
      /node-1 exited \(exit code 1\) before it was ready[\s\S]*EADDRINUSE/,
    );
  });
  it('waits out a slow identity check within its start deadline (a loaded machine)', async () => {
    const port = await strayNode('node-1', 1500);
    const node = nodeOn(port, await claimsToListen(port));
    await expect(node.start()).resolves.toBeUndefined();
  });
});

describe('NodeProcess.command', () => {
  it('spells out every flag the node runs with, so a restart by hand binds and behaves the same', () => {
    const node = new NodeProcess({
      bin: 'unused.js',
      nodeId: 'node-2',
      host: '127.0.0.35',
      port: 43061,
      args: ['--max-memory', '64mb', '--stall-threshold', '3000'],
    });
    expect(node.command).toBe(
      'dcache-server --port 43061 --node-id node-2 --host 127.0.0.35 --max-memory 64mb --stall-threshold 3000',
    );
  });
});
