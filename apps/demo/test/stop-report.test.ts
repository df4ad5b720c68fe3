import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { Narrator } from '../src/narrator.js';
import { CTRL_C_EXIT_WINDOW_MS, stoppedByTheStop } from '../src/stop-report.js';
import { demoNodes, killDemoNode } from './helpers/demo-nodes.js';
import { freePorts } from './helpers/ports.js';
import { EVENTUALLY } from './helpers/eventually.js';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

describe("the demo's Stopping report", () => {
  it('after a Ctrl-C whose nodes exited before the demo handled its own SIGINT, says it stopped them', async () => {
    const ports = await freePorts(3);
    let out = '';
    const say = new Narrator({ write: (text: string) => (out += text) }, false);
    const before = new Set(process.listeners('SIGINT'));
    const demo = runDemo(
      {
        ports,
        host: '127.0.0.1',
        dashboardPort: undefined,
        maxMemory: '64mb',
        once: false,
        help: false,
      },
      say,
    );
    let done = false;
    void demo.finally(() => (done = true));
    await expect.poll(() => out.includes('Press Ctrl-C') || done, { timeout: 80_000 }).toBe(true);
    // The demo's own handler, called directly: a real SIGINT would reach this test runner too.
    const onSignal = process.listeners('SIGINT').find((listener) => !before.has(listener))!;
    cleanup = async () => {
      if (!done) onSignal('SIGTERM');
      await demo;
      for (const node of demoNodes(out)) killDemoNode(node);
    };
    expect(out).toContain('Press Ctrl-C');

    // A terminal's Ctrl-C reaches the nodes too; on a loaded machine their exits can be handled first.
    // The latest pid of each of the three: the walkthrough killed and restarted one (node-4, which
    // joined and left in the scale section, has exited already).
    const nodes = [...new Map(demoNodes(out).map((node) => [node.nodeId, node])).values()].filter(
      ({ nodeId }) => nodeId !== 'node-4',
    );
    expect(nodes).toHaveLength(3);
    for (const { pid } of nodes) process.kill(pid, 'SIGINT');
    // Reaped, so the demo has seen each exit.
    await expect
      .poll(() => nodes.every(({ pid }) => !existsSync(`/proc/${pid}`)), EVENTUALLY)
      .toBe(true);
    onSignal('SIGINT');

    expect(await demo).toBe(0);
    expect(out.match(/ok node-\d stopped \(exit code 0\)/g)).toHaveLength(3);
    expect(out).not.toContain('had already exited');
  });
});

describe('stoppedByTheStop', () => {
  const clean = { code: 0, signal: null };
  it.each([
    [
      'a node still running when the stop began',
      { running: true, exit: clean, exitedMsBefore: undefined },
      false,
      true,
    ],
    [
      "a clean exit just before a Ctrl-C (that Ctrl-C's doing)",
      { running: false, exit: clean, exitedMsBefore: 40 },
      true,
      true,
    ],
    [
      'a clean exit well before a Ctrl-C (killed by hand)',
      { running: false, exit: clean, exitedMsBefore: CTRL_C_EXIT_WINDOW_MS + 1 },
      true,
      false,
    ],
    [
      'a clean exit just before a SIGTERM to the demo alone',
      { running: false, exit: clean, exitedMsBefore: 40 },
      false,
      false,
    ],
    [
      'a SIGKILL just before a Ctrl-C',
      { running: false, exit: { code: null, signal: 'SIGKILL' as const }, exitedMsBefore: 40 },
      true,
      false,
    ],
    [
      'a node that failed to start',
      { running: false, exit: { code: 1, signal: null }, exitedMsBefore: 40 },
      true,
      false,
    ],
    [
      'a node that never ran',
      { running: false, exit: { code: null, signal: null }, exitedMsBefore: undefined },
      true,
      false,
    ],
  ])('%s', (_, node, ctrlC, stopped) => {
    expect(stoppedByTheStop(node, ctrlC)).toBe(stopped);
  });
});
