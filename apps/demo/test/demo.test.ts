import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CLUSTER_MODULE, DEMO_MAIN } from './helpers/paths.js';
import { demoNodes, isDemoNodeAlive, killDemoNode } from './helpers/demo-nodes.js';
import { freePorts, isListening, isNodeOnPort, listenersOn } from './helpers/ports.js';
import { start } from './helpers/run.js';
import type { Finished, Running } from './helpers/run.js';

const SECTIONS = [
  'Starting 3 nodes',
  'set and get',
  'TTL expiry',
  'delete',
  'Bulk operations',
  'Per-node stats',
  'How keys spread over the nodes',
  'A node dies',
  'Restart and read repair',
  'Scaling out and back',
  'Try it yourself',
  'Stopping',
];

const running: Running[] = [];
afterEach(async () => {
  for (const demo of running.splice(0)) {
    demo.kill('SIGKILL');
    const { stdout } = await demo.finished;
    // A test that failed may have left the demo's nodes behind: the next tests must not inherit them.
    // Only a pid that is still that node is killed: pids are reused, and this machine is shared.
    for (const node of demoNodes(stdout)) killDemoNode(node);
  }
});

function demo(args: readonly string[]): Running {
  const child = start(process.execPath, [DEMO_MAIN, ...args], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  running.push(child);
  return child;
}

async function expectNothingLeft(stdout: string, ports: readonly number[]): Promise<void> {
  const nodes = demoNodes(stdout);
  expect(nodes.length).toBeGreaterThanOrEqual(3);
  expect(nodes.filter(isDemoNodeAlive)).toEqual([]);
  for (const port of ports) expectNoNodeOn(port);
}

/** No dcache node started with `--port <port>` listens there (another test's listener may). */
function expectNoNodeOn(port: number): void {
  const nodes = listenersOn(port).filter((listener) => isNodeOnPort(listener, port));
  expect(nodes, `port ${port} still listened on by a node`).toEqual([]);
}

/** `--once` on three given node ports plus a dashboard port. */
function demoOnce(a: number, b: number, c: number, dashboard: number): Promise<Finished> {
  return demo(['--once', '--ports', `${a},${b},${c}`, '--dashboard-port', String(dashboard)])
    .finished;
}

/** Runs `body` while something that is not dcache holds `port` (it hangs up on every connection). */
async function whilePortTaken<T>(port: number, body: () => Promise<T>): Promise<T> {
  const squatter = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  try {
    return await body();
  } finally {
    await new Promise((resolve) => squatter.close(resolve));
  }
}

describe('the demo as a real process', () => {
  it('--once narrates every section, checks what it claims, exits 0 and leaves no process or port behind', async () => {
    const [a, b, c, dashboard] = await freePorts(4);
    // The dashboard is served by the demo process itself, which has exited: only nodes can be left.
    const ports = [a!, b!, c!];
    const result = await demoOnce(a!, b!, c!, dashboard!);

    expect(result.code, `stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toBe(0);
    const headings = [...result.stdout.matchAll(/^== \d+\. (.+) ==$/gm)].map((match) => match[1]);
    expect(headings).toEqual(SECTIONS);
    expect(result.stdout).toContain(`http://127.0.0.1:${a}`);
    expect(result.stdout).toContain(`dashboard: http://127.0.0.1:${dashboard}`);
    expect(result.stdout).toMatch(/1000 of 1000 found: 0 keys lost/);
    expect(result.stdout).toMatch(/read repair restored the primary's copy/);
    // The scale section: the hit rate held through the join and the leave (the demo checks ≥ 98%
    // of the rate before), fallbacks found the moved keys, and the window closed each time.
    expect(result.stdout).toMatch(
      /hit rate \d+\.\d% over 2 s after the join \(before: \d+\.\d%\); window (open|closed): [1-9]\d* fallback hits, [1-9]\d* keys backfilled to node-4/,
    );
    expect(result.stdout).toMatch(
      /window closed \((quiet\): no fallback hit for 1500 ms|max-window\): 10 s after the change)/,
    );
    expect(result.stdout).toMatch(/after the leave: [1-9]\d* fallback hits on node-4/);
    expect(result.stdout).toMatch(/node-4 exited \(exit code 0\) after its grace/);
    expect(result.stdout).toMatch(/; 0 operations failed/);
    expect(result.stdout).toMatch(/get after the TTL -> undefined/);
    expect(result.stdout).toMatch(/curl .*\/v1\/stats/);
    expect(result.stdout.match(/node-\d stopped \(exit code 0\)/g)).toHaveLength(3);
    await expectNothingLeft(result.stdout, ports);
  });

  it('with four --ports narrates four nodes: the ring, the one more that joins, the four it leaves', async () => {
    const ports = await freePorts(4);
    const result = await demo(['--once', '--ports', ports.join(','), '--no-dashboard']).finished;
    expect(result.code, `stderr:\n${result.stderr}\nstdout:\n${result.stdout}`).toBe(0);
    expect(result.stdout).toContain('a ring of the four nodes');
    expect(result.stdout).toMatch(/--node-id node-5 .*\/\/ one more node$/m);
    expect(result.stdout).toMatch(/its keys move back to the first four$/m);
    await expectNothingLeft(result.stdout, ports);
  });

  it('keeps the cluster running until SIGINT (Ctrl-C), then stops all three nodes and exits 0', async () => {
    const ports = await freePorts(3);
    const child = demo(['--ports', ports.join(','), '--no-dashboard']);
    await child.waitFor(/Press Ctrl-C/, 80_000);
    for (const port of ports) {
      expect(await isListening(port)).toBe(true);
      // What the leftover check looks for finds the running nodes (so it would find a leftover).
      expect(listenersOn(port).filter((listener) => isNodeOnPort(listener, port))).toHaveLength(1);
    }

    // A terminal's Ctrl-C reaches the demo, and then again as pnpm passes it on to its script. The
    // second is sent once the first was handled: two back to back would merge into one pending signal.
    child.kill('SIGINT');
    await child.waitFor(/Received SIGINT/);
    child.kill('SIGINT');
    const result = await child.finished;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.match(/Received SIGINT/g)).toHaveLength(1);
    expect(result.stdout.match(/node-\d stopped \(exit code 0\)/g)).toHaveLength(3);
    await expectNothingLeft(result.stdout, ports);
  });

  it.each(['SIGTERM', 'SIGHUP'] as const)(
    'stops all three nodes on a %s sent to the demo alone (kill -TERM / kill -HUP <pid>)',
    async (signal) => {
      const ports = await freePorts(3);
      const child = demo(['--ports', ports.join(','), '--no-dashboard']);
      await child.waitFor(/Press Ctrl-C/, 80_000);
      child.kill(signal);
      const result = await child.finished;
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain(`Received ${signal}`);
      expect(result.stdout.match(/ok node-\d stopped \(exit code 0\)/g)).toHaveLength(3);
      await expectNothingLeft(result.stdout, ports);
    },
  );

  it('stops its nodes gracefully on a hangup whose terminal is gone, where every write fails', async () => {
    const ports = await freePorts(3);
    const child = demo(['--ports', ports.join(','), '--no-dashboard']);
    await child.waitFor(/ok node-3 /, 30_000);
    // A dropped ssh session: the hangup, and nobody left to read what the demo says about it.
    child.closeStdout();
    child.kill('SIGHUP');
    const result = await child.finished;
    expect(result.stderr).not.toMatch(/crashed/);
    expect(result.code, result.stderr).toBe(0);
    await expectNothingLeft(result.stdout, ports);
  });

  it('stops cleanly on a Ctrl-C in the middle of the walkthrough, with no crash from the work cut short', async () => {
    const ports = await freePorts(3);
    const child = demo(['--ports', ports.join(','), '--no-dashboard']);
    await child.waitFor(/^== 3\. TTL expiry ==$/m, 50_000);
    child.kill('SIGINT');
    const result = await child.finished;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/crashed|unhandled/i);
    expect(result.stdout).not.toContain('Try it yourself');
    expect(result.stdout.match(/node-\d stopped/g)).toHaveLength(3);
    await expectNothingLeft(result.stdout, ports);
  });

  it('stops cleanly on a Ctrl-C while the fourth node is in the ring and the scale load runs', async () => {
    const ports = await freePorts(3);
    const child = demo(['--ports', ports.join(','), '--no-dashboard']);
    await child.waitFor(/scaler\.addNode\(/, 80_000);
    child.kill('SIGINT');
    const result = await child.finished;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(/crashed|unhandled/i);
    expect(result.stdout).not.toContain('Try it yourself');
    expect(result.stdout.match(/node-\d stopped/g)).toHaveLength(3);
    // node-4 (narrated with its pid; started with --port 0) is gone too.
    expect(demoNodes(result.stdout).map((node) => node.nodeId)).toContain('node-4');
    await expectNothingLeft(result.stdout, ports);
  });

  it('narrates nothing of the walkthrough under "Stopping" after a Ctrl-C cut it short', async () => {
    const ports = await freePorts(3);
    const child = demo(['--ports', ports.join(','), '--no-dashboard']);
    // Next the scale section waits for the transition window to close, then narrates node-4 leaving:
    // after a Ctrl-C it runs on in the background until a call fails.
    await child.waitFor(/after the join \(before: /, 80_000);
    child.kill('SIGINT');
    const result = await child.finished;
    expect(result.code, result.stderr).toBe(0);
    const report = result.stdout.slice(result.stdout.search(/^== \d+\. Stopping ==$/m));
    // The heading, then one line per node: no step the demo no longer takes.
    expect(report.trim().split('\n').slice(1)).toEqual([
      '  ok node-1 stopped (exit code 0)',
      '  ok node-2 stopped (exit code 0)',
      '  ok node-3 stopped (exit code 0)',
    ]);
    await expectNothingLeft(result.stdout, ports);
  });

  it('says which flag to use when the dashboard port is taken, and stops the nodes', async () => {
    const [a, b, c, dashboard] = await freePorts(4);
    const result = await whilePortTaken(dashboard!, () => demoOnce(a!, b!, c!, dashboard!));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `the dashboard's port ${dashboard} is taken: pass --dashboard-port <n> or --no-dashboard`,
    );
    expect(result.stdout).not.toMatch(/^\s+at /m);
    await expectNothingLeft(result.stdout, [a!, b!, c!]);
  });

  it('fails with exit code 1 when a port is taken, and stops the nodes it had started', async () => {
    const [a, b, c] = await freePorts(3);
    const result = await whilePortTaken(
      b!,
      () => demo(['--once', '--ports', `${a},${b},${c}`, '--no-dashboard']).finished,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/node-2 (exited|did not answer)|is answered by/);
    // A diagnosed failure reads as its message and the node's own words, not a stack trace.
    expect(result.stdout).not.toMatch(/^\s+at /m);
    // node-2 never ran: "Stopping" must not claim it stopped it.
    expect(result.stdout).toMatch(/node-2 had already exited \(exit code 1\)/);
    expect(result.stdout).not.toMatch(/ok node-2 stopped/);
    expectNoNodeOn(a!);
    expectNoNodeOn(c!);
  });

  it('leaves no orphan node when the process running the cluster crashes', async () => {
    // What the demo does, then an uncaught exception: the Cluster's 'exit' handler must SIGKILL the nodes.
    const script = `
      import { Cluster } from ${JSON.stringify(CLUSTER_MODULE)};
      const cluster = new Cluster({ ports: [0, 0, 0], args: ['--log-level', 'warn'] });
      await cluster.start();
      console.log('nodes ' + cluster.nodes.map((node) => node.pid + '@' + node.port).join(' '));
      setTimeout(() => { throw new Error('boom'); }, 10);
    `;
    const crash = start(process.execPath, ['--input-type=module', '-e', script]);
    running.push(crash);
    const [line] = await crash.waitFor(/^nodes .+$/m);
    const nodes = line
      .slice('nodes '.length)
      .split(' ')
      .map((entry) => entry.split('@').map(Number) as [number, number]);
    expect(nodes).toHaveLength(3);
    const result = await crash.finished;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('boom');
    for (const [i, [pid]] of nodes.entries()) {
      // SIGKILL is delivered at once, but the kernel reaps the process a moment later. The nodes
      // were started with --port 0, and that is what their command line says. A node is one
      // process (the server starts none), so with it gone nothing of it listens; its port is not
      // probed: freed in the ephemeral range, it may already be another test's.
      const node = { pid, nodeId: `node-${i + 1}`, port: 0 };
      await expect.poll(() => isDemoNodeAlive(node), { timeout: 5000 }).toBe(false);
    }
  });

  it('rejects a bad flag with exit code 2, naming it, and the usage (every case: options.test.ts)', async () => {
    const result = await demo(['--ports', '9001,9002']).finished;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--ports needs at least 3 ports/);
    expect(result.stderr).toContain('Usage:');
  });

  it('--help prints the usage and exits 0', async () => {
    const result = await demo(['--help']).finished;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--base-port <n>/);
  });
});
