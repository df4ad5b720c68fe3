import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readText } from './dockerfile.js';
import { DEPLOY_DIR } from './manifests.js';
import { startNode, stopNodes } from './node-process.js';
import type { NodeProcess } from './node-process.js';

const run = promisify(execFile);
const README = readText(join(DEPLOY_DIR, 'README.md'));

/** The fenced blocks of the README, with the language a `<!-- tested: … -->` line before gives. */
function blocks(): { tested?: string; lang: string; code: string }[] {
  const found = [];
  const fence = /(?:<!-- tested: (\w+) -->\n\n)?```(\w*)\n([\s\S]*?)```/g;
  for (const match of README.matchAll(fence)) {
    found.push({ tested: match[1], lang: match[2]!, code: match[3]! });
  }
  return found;
}

/** What the `# → text` / `// → text` comments of a block say it prints. */
function expectations(code: string): string[] {
  return [...code.matchAll(/(?:#|\/\/) → (.+)$/gm)].map((match) => match[1]!.trim());
}

const tested = blocks().filter((block) => block.tested !== undefined);

it('marks shell and JavaScript blocks as tested, each tagged with its own language', () => {
  expect(tested.map((block) => block.tested)).toEqual(['sh', 'js']);
  for (const block of tested) expect(block.lang).toBe(block.tested);
});

it('names only deploy/… files that exist', () => {
  const paths = new Set(
    blocks().flatMap((block) => [...block.code.matchAll(/\bdeploy\/[\w./-]+/g)].map((m) => m[0])),
  );
  expect(paths.size).toBeGreaterThan(5);
  for (const path of paths) expect(existsSync(join(DEPLOY_DIR, '..', path)), path).toBe(true);
});

describe('the tested blocks, run against three local nodes', () => {
  const token = 'readme-token';
  let nodes: NodeProcess[] = [];
  /** The README's 127.0.0.1:8001–8003, pointed at the test's nodes (ephemeral ports). */
  const local = (code: string): string =>
    code.replace(
      /127\.0\.0\.1:800([123])/g,
      (_m, n: string) => new URL(nodes[Number(n) - 1]!.url).host,
    );

  beforeAll(async () => {
    nodes = await Promise.all(
      [1, 2, 3].map((n) =>
        startNode({ args: ['--port', '0', '--node-id', `node${n}`], env: { DCACHE_TOKEN: token } }),
      ),
    );
  });
  afterAll(stopNodes);

  it.each(tested.map((block) => [block.tested!, block.code]))('%s block', async (lang, code) => {
    const env = { PATH: process.env.PATH, DCACHE_TOKEN: token };
    const { stdout } =
      lang === 'sh'
        ? await run('bash', ['-e', '-o', 'pipefail', '-c', local(code)], { env })
        : // -e resolves @dcache/client from the working directory: this package's dependencies.
          await run(process.execPath, ['--input-type=module', '-e', local(code)], {
            env,
            cwd: DEPLOY_DIR,
          });
    const wanted = expectations(code);
    expect(wanted.length).toBeGreaterThan(0);
    for (const text of wanted) expect(stdout).toContain(text);
  });
});
