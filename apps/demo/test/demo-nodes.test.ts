import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { demoNodes, isDemoNodeAlive, killDemoNode } from './helpers/demo-nodes.js';
import { isAlive } from './helpers/ports.js';
import { EVENTUALLY } from './helpers/eventually.js';

const NARRATION = `
  ok node-1  http://127.0.0.1:41001  pid 1201  (dcache-server --port 41001 --node-id node-1 --max-memory 64mb)
  ok node-2  http://127.0.0.1:41002  pid 1202  (dcache-server --port 41002 --node-id node-2 --max-memory 64mb)
  > kill -9 1202   // node-2, the primary for 'greeting', is gone without a goodbye
    = node-2 is back (pid 1300) and holds nothing yet
`;

const spawned: number[] = [];
afterEach(() => {
  for (const pid of spawned.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** A process whose command line reads like a demo node's, without being a server. */
function fakeNode(port: number, nodeId: string): number {
  const child = spawn(
    process.execPath,
    [
      '-e',
      'setInterval(() => {}, 1000)',
      'dcache-server.js',
      '--port',
      String(port),
      '--node-id',
      nodeId,
    ],
    { stdio: 'ignore' },
  );
  spawned.push(child.pid!);
  return child.pid!;
}

describe('recognising the demo nodes a test may have to clean up', () => {
  it('reads each node pid with its node id and port, the restarted one on its first port', () => {
    expect(demoNodes(NARRATION)).toEqual([
      { pid: 1201, nodeId: 'node-1', port: 41001 },
      { pid: 1202, nodeId: 'node-2', port: 41002 },
      { pid: 1300, nodeId: 'node-2', port: 41002 },
    ]);
  });

  it('does not take a live process that reused a node pid for the node (it would be killed)', () => {
    // This test's own process is alive, so a bare liveness probe says yes.
    expect(isAlive(process.pid)).toBe(true);
    expect(isDemoNodeAlive({ pid: process.pid, nodeId: 'node-1', port: 41001 })).toBe(false);
  });

  it('recognises a node by its command line, and only with its own node id and port', async () => {
    const pid = fakeNode(41001, 'node-1');
    await expect
      .poll(() => isDemoNodeAlive({ pid, nodeId: 'node-1', port: 41001 }), EVENTUALLY)
      .toBe(true);
    expect(isDemoNodeAlive({ pid, nodeId: 'node-2', port: 41001 })).toBe(false);
    expect(isDemoNodeAlive({ pid, nodeId: 'node-1', port: 41002 })).toBe(false);

    killDemoNode({ pid, nodeId: 'node-2', port: 41001 });
    expect(isDemoNodeAlive({ pid, nodeId: 'node-1', port: 41001 })).toBe(true);
    killDemoNode({ pid, nodeId: 'node-1', port: 41001 });
    await expect
      .poll(() => isDemoNodeAlive({ pid, nodeId: 'node-1', port: 41001 }), EVENTUALLY)
      .toBe(false);
  });

  it('recognises a node started on any free port (--port 0) by the port it was narrated with', async () => {
    const pid = fakeNode(0, 'node-4');
    await expect
      .poll(() => isDemoNodeAlive({ pid, nodeId: 'node-4', port: 41004 }), EVENTUALLY)
      .toBe(true);
    expect(isDemoNodeAlive({ pid, nodeId: 'node-3', port: 41004 })).toBe(false);
    killDemoNode({ pid, nodeId: 'node-4', port: 41004 });
    await expect
      .poll(() => isDemoNodeAlive({ pid, nodeId: 'node-4', port: 41004 }), EVENTUALLY)
      .toBe(false);
  });

  it('cleanup never throws for a pid that is gone or not ours to signal', () => {
    // pid 1 (init) is alive but not ours: a bare probe says alive (EPERM) and a kill would throw.
    expect(() => killDemoNode({ pid: 1, nodeId: 'node-1', port: 41001 })).not.toThrow();
    expect(() => killDemoNode({ pid: 2 ** 22 + 1, nodeId: 'node-1', port: 41001 })).not.toThrow();
  });
});
