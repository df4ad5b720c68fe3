import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENTUALLY } from './helpers/eventually.js';
import { freePorts, isNodeOnPort, listenersOn } from './helpers/ports.js';

const spawned: number[] = [];
let server: Server | undefined;

afterEach(async () => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A process that listens on `port` with a command line like a demo node's, without being one. */
function fakeNode(port: number): number {
  const child = spawn(
    process.execPath,
    [
      '-e',
      "require('node:net').createServer().listen(Number(process.argv[3]), '127.0.0.1')",
      'dcache-server.js',
      '--port',
      String(port),
    ],
    // Its own process group, whose id is its pid: what the listener's pgid must read.
    { stdio: 'ignore', detached: true },
  );
  spawned.push(child.pid!);
  return child.pid!;
}

describe("who listens on a port (what a test's leftover check asks)", () => {
  it('names a node listening on its port, and no longer once it is killed', async () => {
    const [port] = await freePorts(1);
    const pid = fakeNode(port!);
    await expect.poll(() => listenersOn(port!).map((l) => l.pid), EVENTUALLY).toEqual([pid]);
    const [listener] = listenersOn(port!);
    expect(listener!.pgid).toBe(pid);
    expect(isNodeOnPort(listener!, port!)).toBe(true);
    expect(isNodeOnPort(listener!, port! + 1)).toBe(false);

    process.kill(pid, 'SIGKILL');
    // Only its own listener is asked about: the freed port may be someone else's at once.
    await expect
      .poll(() => listenersOn(port!).filter((l) => l.pid === pid), EVENTUALLY)
      .toEqual([]);
  });

  it('names this process, and it is not a node', async () => {
    server = createServer();
    const port = await new Promise<number>((resolve) => {
      server!.listen(0, '127.0.0.1', () => resolve((server!.address() as { port: number }).port));
    });
    const listeners = listenersOn(port);
    expect(listeners.map((l) => l.pid)).toEqual([process.pid]);
    expect(isNodeOnPort(listeners[0]!, port)).toBe(false);
  });

  it('finds no process of ours on a port this process stopped listening on', async () => {
    const [port] = await freePorts(1);
    expect(listenersOn(port!).filter((l) => l.pid === process.pid)).toEqual([]);
  });
});
