import { execFile } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { requireBinary } from './binaries.js';
import { startListener } from './helpers.js';
import type { Started } from './helpers.js';

// libmemcached's conformance suite, ASCII half. Debian ships it as `memccapable`.
const memccapable = requireBinary('memccapable');

let s: Started;
beforeAll(async () => {
  s = await startListener();
});
afterAll(async () => s.listener.close());

function run(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(memccapable, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

test('memccapable -a passes every ASCII test against the dcache port', async () => {
  const { code, output } = await run(['-a', '-h', '127.0.0.1', '-p', String(s.port)]);
  const results = output.split('\n').filter((line) => /^ascii /.test(line));
  // The suite has 27 ASCII tests (version … stat); every one must report [pass].
  expect(results.length).toBeGreaterThanOrEqual(27);
  expect(results.filter((line) => !line.includes('[pass]'))).toEqual([]);
  expect(output).toContain('All tests passed');
  expect(code).toBe(0);
}, 90_000);
