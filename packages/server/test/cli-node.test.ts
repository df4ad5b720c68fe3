import { afterEach, describe, expect, it } from 'vitest';
import { startCliNode, stopCliNodes } from './cli-node.js';

afterEach(() => stopCliNodes());

describe('startCliNode: a node started through the CLI, as users start it', () => {
  it('reads the HTTP URL and the memcached address from the listening line', async () => {
    const node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
    expect(node.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(node.memcached?.host).toBe('127.0.0.1');
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });

  it('stops with SIGTERM and reports the exit code', async () => {
    const node = await startCliNode(['--log-level', 'silent']);
    expect(node.memcached).toBeUndefined();
    expect(await node.stop()).toBe(0);
  });

  it('rejects with the output when the node exits before listening', async () => {
    await expect(startCliNode(['--max-memory', 'lots'])).rejects.toThrow(/max-memory/);
  });
});
