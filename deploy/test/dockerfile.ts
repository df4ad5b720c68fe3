import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One instruction of a Dockerfile: `RUN sh x.sh` is `{ keyword: 'RUN', args: 'sh x.sh' }`. */
export interface Instruction {
  keyword: string;
  args: string;
}

/** The instructions of each stage (split at FROM; the FROM line starts its stage). */
export function parseDockerfile(text: string): Instruction[][] {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.replace(/\s+/g, ' ') };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** `ENV A=1 B=2` (the key=value form) as an object. */
export function envOf(stage: Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { keyword, args } of stage) {
    if (keyword !== 'ENV') continue;
    for (const pair of args.split(' ')) {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`ENV key=value expected, got ${pair}`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    }
  }
  return env;
}

/** The single instruction `keyword` of a stage. */
export function only(stage: Instruction[], keyword: string): string {
  const found = stage.filter((i) => i.keyword === keyword);
  if (found.length !== 1) throw new Error(`expected one ${keyword}, found ${found.length}`);
  return found[0]!.args;
}

/**
 * A `.dockerignore` as Docker reads it: patterns in order, `!` re-includes, the last match wins,
 * and a pattern matching a directory matches everything under it.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '.*'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negated, regex: new RegExp(`^${source}$`) };
    });
  return (path) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.negated;
    }
    return excluded;
  };
}

/** The files (relative paths) a build context at `root` sends, given its ignore rules. */
export function contextFiles(root: string, ignored: (path: string) => boolean): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    // The entries' own types, not a stat of each: the suite's other tasks rebuild dist trees while
    // this walks, and a file removed between the listing and its stat failed the test (ENOENT).
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      // A directory removed while walking (a dist being rebuilt) holds nothing to send.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const path = relative(root, full);
      // Never descend into what no rule could bring back: the big trees Docker skips too.
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      if (entry.isDirectory()) walk(full);
      else if (!ignored(path)) files.push(path);
    }
  };
  walk(root);
  return files.sort();
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}
