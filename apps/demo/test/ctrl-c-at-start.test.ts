import { afterEach, describe, expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';
import { answers } from '../src/http.js';
import { Narrator } from '../src/narrator.js';
import { demoNodes, killDemoNode } from './helpers/demo-nodes.js';
import { freePorts } from './helpers/ports.js';

let out = '';
afterEach(() => {
  for (const node of demoNodes(out)) killDemoNode(node);
  out = '';
});

describe('a Ctrl-C while the demo starts', () => {
  it('just before the dashboard listens still closes the dashboard: nothing keeps the demo alive', async () => {
    const [a, b, c, dashboardPort] = await freePorts(4);
    const before = new Set(process.listeners('SIGINT'));
    let signalled = false;
    // The demo's own handler, called directly (a real SIGINT would reach this test runner too), at
    // the last node's "ok" line: the dashboard starts listening right after it.
    const say = new Narrator(
      {
        write: (text: string) => {
          out += text;
          if (signalled || !text.includes('ok node-3 ')) return;
          signalled = true;
          process.listeners('SIGINT').find((listener) => !before.has(listener))!('SIGINT');
        },
      },
      false,
    );
    const code = await runDemo(
      {
        ports: [a!, b!, c!],
        host: '127.0.0.1',
        dashboardPort,
        maxMemory: '64mb',
        once: false,
        help: false,
      },
      say,
    );
    expect(signalled).toBe(true);
    expect(code).toBe(0);
    expect(out).toContain('Received SIGINT');
    // A dashboard still listening would keep the demo's process up after "Stopping", nodes gone.
    expect(await answers(`http://127.0.0.1:${dashboardPort}/api/cluster`)).toBe(false);
  });
});
