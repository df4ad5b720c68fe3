import fc from 'fast-check';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { command } from './fuzz-commands.js';
import { RawClient, startListener } from './helpers.js';
import type { Started } from './helpers.js';
import { startRealMemcached } from './real-memcached.js';
import type { RealMemcached } from './real-memcached.js';

/**
 * Differential fuzz: the same random command sequences go to a real memcached and to dcache and
 * the replies must match byte for byte after two normalisations where memcached is not
 * deterministic: CAS values are renamed in order of first appearance (the numbers differ, their
 * equalities must not), and positive meta TTLs (`t<secs>`) read as "t+" (memcached's clock ticks
 * once a second, so the value may be one lower on either side). Numbers shortened by incr/decr
 * read without their trailing space padding: memcached pads in place only when no reply still
 * references the item, which depends on its internal reference counts.
 */
let real: RealMemcached;
let ours: Started;
let a: Side;
let b: Side;

class Side {
  readonly lastCas = new Map<string, string>();
  private labels = new Map<string, string>();
  constructor(readonly client: RawClient) {}

  reset(): void {
    this.lastCas.clear();
    this.labels.clear();
  }

  private label(cas: string): string {
    let l = this.labels.get(cas);
    if (l === undefined) {
      l = `#${this.labels.size + 1}`;
      this.labels.set(cas, l);
    }
    return l;
  }

  /** Sends one command (with its CAS placeholders filled in) and returns the normalised reply. */
  async run(template: string): Promise<string> {
    const text = template.replace(
      /\{cas:([^}]+)\}/g,
      (_m, k: string) => this.lastCas.get(k) ?? '987654321',
    );
    const reply = await this.client.request(text);
    const cmdKey = /^\S+ (\S+)/.exec(text)?.[1];
    return unpadNumbers(reply)
      .split('\r\n')
      .map((line) => {
        const value = /^VALUE (\S+) (\d+) (\d+) (\d+)$/.exec(line);
        if (value !== null) {
          this.lastCas.set(value[1]!, value[4]!);
          return `VALUE ${value[1]} ${value[2]} ${value[3]} ${this.label(value[4]!)}`;
        }
        if (!/^(VA|HD|EN|NS|EX|NF) ?/.test(line)) return line;
        return line
          .split(' ')
          .map((tok, i) => {
            if (i > 0 && /^c\d+$/.test(tok)) {
              if (cmdKey !== undefined && !line.includes(' b'))
                this.lastCas.set(cmdKey, tok.slice(1));
              return `c${this.label(tok.slice(1))}`;
            }
            if (i > 0 && /^t\d+$/.test(tok)) return 't+';
            return tok;
          })
          .join(' ');
      })
      .join('\r\n');
  }
}

/** "VALUE k f 3\r\n99 \r\n" → "VALUE k f 2\r\n99\r\n" (and the same for meta VA blocks). */
function unpadNumbers(reply: string): string {
  return reply.replace(
    /^(VALUE \S+ \d+ |VA )(\d+)([^\r]*)\r\n(\d+)( +)\r\n/gm,
    (_m, head: string, _len: string, rest: string, digits: string) =>
      `${head}${digits.length}${rest}\r\n${digits}\r\n`,
  );
}

beforeAll(async () => {
  real = await startRealMemcached(['-m', '64']);
  ours = await startListener({ version: '1.6.18' });
  a = new Side(new RawClient(real.port));
  b = new Side(new RawClient(ours.port));
  await Promise.all([a.client.ready(), b.client.ready()]);
}, 30_000);

afterAll(async () => {
  a?.client.close();
  b?.client.close();
  await ours?.listener.close();
  await real?.stop();
});

test('random command sequences get the same replies from memcached and dcache', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 40 }), async (commands) => {
      await Promise.all([a.run('flush_all\r\n'), b.run('flush_all\r\n')]);
      a.reset();
      b.reset();
      const transcript: string[] = [];
      for (const cmd of commands) {
        const [expected, actual] = await Promise.all([a.run(cmd), b.run(cmd)]);
        transcript.push(
          `> ${JSON.stringify(cmd)}\n  memcached ${JSON.stringify(expected)}\n  dcache    ${JSON.stringify(actual)}`,
        );
        if (expected !== actual) {
          throw new Error(`replies differ:\n${transcript.slice(-8).join('\n')}`);
        }
      }
    }),
    { numRuns: Number(process.env.DCACHE_FUZZ_RUNS ?? 150) },
  );
}, 600_000);

test('the data block is binary-safe on both (CR, LF, NUL and high bytes inside the value)', async () => {
  const data = Buffer.from([0, 13, 10, 255, 128, 13, 10, 32, 0]);
  const cmd = Buffer.concat([
    Buffer.from(`set bin 7 0 ${data.length}\r\n`),
    data,
    Buffer.from('\r\nget bin\r\n'),
  ]);
  const [x, y] = await Promise.all([a.client.request(cmd), b.client.request(cmd)]);
  expect(y).toBe(x);
  expect(Buffer.from(y, 'latin1').includes(data)).toBe(true);
});
