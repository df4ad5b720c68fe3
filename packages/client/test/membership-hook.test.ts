// onMembershipChange: addNode and removeNode report through the same path DNS discovery does.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DistributedCacheClient } from '../src/index.js';
import type { MembershipChange } from '../src/index.js';
import { startCliNode, stopCliNodes } from './cli-nodes.js';
import type { CliNode } from './cli-nodes.js';

describe('onMembershipChange', () => {
  let nodes: CliNode[] = [];
  let client: DistributedCacheClient | undefined;

  beforeAll(async () => {
    nodes = await Promise.all(['127.0.0.2', '127.0.0.3'].map((host) => startCliNode(host)));
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await client?.close();
  });
  afterAll(async () => {
    await stopCliNodes();
  });

  it('hears addNode and removeNode once the ring has changed', async () => {
    const [a, b] = nodes.map((node) => node.url) as [string, string];
    const changes: MembershipChange[] = [];
    const ring: string[][] = [];
    const current = new DistributedCacheClient([a], {
      onMembershipChange: (change) => {
        changes.push(change);
        // The ring has already changed when the hook runs.
        ring.push(current.nodesFor('k').sort());
      },
    });
    client = current;
    current.addNode(b);
    expect(await current.removeNode(a)).toBe(true);
    expect(await current.removeNode(a)).toBe(false);
    expect(changes).toStrictEqual([
      { added: [b], removed: [], nodes: [a, b].sort(), source: 'addNode' },
      { added: [], removed: [a], nodes: [b], source: 'removeNode' },
    ]);
    expect(ring).toStrictEqual([[a, b].sort(), [b]]);
    expect(await current.set('k', 1)).toBe(true);
  });

  it('a hook that throws becomes a warning; the change stands', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const [a, b] = nodes.map((node) => node.url) as [string, string];
    client = new DistributedCacheClient([a], {
      onMembershipChange: () => {
        throw new Error('hook failed');
      },
    });
    client.addNode(b);
    expect(client.nodes).toStrictEqual([a, b]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/"onMembershipChange" threw/);
  });
});
