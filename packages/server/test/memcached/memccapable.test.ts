import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import type { CliNode } from '../cli-node.js';
import { requireBinary } from './binaries.js';

// libmemcached's conformance suite, ASCII half (Debian ships it as `memccapable`), against a node
// started through the CLI with its defaults, as a user would: what is tested is what ships.
const memccapable = requireBinary('memccapable');

let node: CliNode;
beforeAll(async () => {
  node = await startCliNode(['--memcached-port', '0', '--log-level', 'silent']);
}, 30_000);
afterAll(() => stopCliNodes());

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(memccapable, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

test('memccapable -a passes every ASCII test against a CLI-started node', async () => {
  const { host, port } = node.memcached!;
  const { code, output } = await run(['-a', '-h', host, '-p', String(port)]);
  const results = output.split('\n').filter((line) => /^ascii /.test(line));
  // The suite has 27 ASCII tests (version … stat); every one must report [pass].
  expect(results.length).toBeGreaterThanOrEqual(27);
  expect(results.filter((line) => !line.includes('[pass]'))).toEqual([]);
  expect(output).toContain('All tests passed');
  expect(code).toBe(0);
}, 90_000);
