import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readWholeFile } from '../src/snapshot/read-whole-file.js';
import { digestOf } from '../src/snapshot/snapshot-format.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcache-read-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Files past 2 GiB (readFile's limit, and one hash update's) are read and hashed in 1 GiB pieces;
// small pieces here exercise the same loops.
describe('big snapshots: reading and hashing in pieces', () => {
  const content = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

  it('readWholeFile reads every byte, whatever the piece size', async () => {
    const file = join(dir, 'f');
    await writeFile(file, content);
    for (const chunk of [1, 7, 100, 1 << 30])
      expect(await readWholeFile(file, chunk)).toEqual(content);
    await writeFile(file, '');
    expect((await readWholeFile(file, 7)).length).toBe(0);
    await expect(readWholeFile(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });

  it('digestOf in pieces is the SHA-256 of the whole', () => {
    const whole = createHash('sha256').update(content).digest();
    for (const chunk of [1, 7, 100, 1 << 30]) expect(digestOf(content, chunk)).toEqual(whole);
  });
});
