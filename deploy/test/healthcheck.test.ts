import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeSelfSignedPair } from '../../packages/server/test/self-signed.js';
import type { SelfSignedPair } from '../../packages/server/test/self-signed.js';
import { REPO_CLI, startNode, stopNodes } from './node-process.js';

/** The image's HEALTHCHECK script against nodes configured the ways the image can be. */

const run = promisify(execFile);
const HEALTHCHECK = fileURLToPath(new URL('../docker/healthcheck.mjs', import.meta.url));
let dir: string;

let pair: SelfSignedPair;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcache-healthcheck-'));
  pair = makeSelfSignedPair(dir); // self-signed: verifying it would fail
});
afterEach(() => stopNodes());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The script's exit code with `env` (what the container's environment holds). */
function check(env: Record<string, string>): Promise<number> {
  return run(process.execPath, [HEALTHCHECK], { env }).then(
    () => 0,
    (error: { code: number }) => error.code,
  );
}

describe('the image healthcheck', () => {
  it('asks over HTTPS when the node serves TLS, whoever signed its certificate', async () => {
    const env = {
      DCACHE_HOST: '127.0.0.1',
      DCACHE_PORT: '0',
      DCACHE_TLS_CERT: pair.certFile,
      DCACHE_TLS_KEY: pair.keyFile,
    };
    const node = await startNode({ bin: REPO_CLI, env });
    const port = new URL(node.url).port;
    expect(node.url).toMatch(/^https:/);
    expect(await check({ ...env, DCACHE_PORT: port })).toBe(0);
    expect(await check({ DCACHE_PORT: port })).toBe(1); // plain HTTP to a TLS port: no answer
  });

  // The node takes an empty variable as unset (port 8001); the check asked port '' (80) then.
  // 8001 is the one port the test cannot choose: node and check run in a network namespace of
  // their own, where it is free (Linux, root, `unshare` and `ip`: .ci/run installs them).
  it('asks port 8001 when DCACHE_PORT is empty, as the node listens there then', () => {
    const script = [
      'ip link set lo up',
      `"${process.execPath}" "${REPO_CLI}" --stall-threshold 0 > "$0" 2>&1 &`,
      'node=$!',
      "trap 'kill $node; wait $node' EXIT",
      'i=0; until grep -q "listening on" "$0" || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done',
      `"${process.execPath}" "${HEALTHCHECK}"; echo "check=$?"`,
    ].join('\n');
    const out = spawnSync('unshare', ['--net', '--', 'sh', '-c', script, join(dir, 'node.log')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, DCACHE_PORT: '' },
      timeout: 30_000,
    });
    // Without root, unshare or ip, the script says why on stderr.
    expect(`${out.stdout}${out.stderr}`).toContain('check=0');
  });

  it('asks the address the node listens on, unless that is a wildcard', async () => {
    const env = { DCACHE_HOST: '127.0.0.7', DCACHE_PORT: '0' };
    const node = await startNode({ bin: REPO_CLI, env });
    const port = new URL(node.url).port;
    expect(await check({ ...env, DCACHE_PORT: port })).toBe(0);
    expect(await check({ DCACHE_PORT: port })).toBe(1); // nothing on 127.0.0.1
    const wildcard = await startNode({
      bin: REPO_CLI,
      env: { DCACHE_HOST: '0.0.0.0', DCACHE_PORT: '0' },
    });
    const wildcardPort = new URL(wildcard.url).port;
    expect(await check({ DCACHE_HOST: '0.0.0.0', DCACHE_PORT: wildcardPort })).toBe(0);
  });
});
