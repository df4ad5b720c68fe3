import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { destroySockets, openSocket } from '../hostile/memcached-sockets.js';
import { startRealMemcached } from './real-memcached.js';
import type { RealMemcached } from './real-memcached.js';

let dir: string;
let authFile: string;
let real: RealMemcached | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dcache-mc-auth-'));
  authFile = join(dir, 'auth');
  writeFileSync(authFile, 'alice:s3cret\nbob:pw2\n');
  // memcached drops to the memcache user before it reads the file.
  chmodSync(dir, 0o755);
  chmodSync(authFile, 0o644);
});
afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});
afterAll(async () => {
  await real?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends each step and collects what arrives until the next 100 ms of quiet. */
async function converse(port: number, steps: readonly string[]): Promise<string[]> {
  const socket: Socket = await openSocket(port);
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('close', () => (closed = true));
  const replies: string[] = [];
  for (const step of steps) {
    text = '';
    socket.write(step);
    let seen = -1;
    const until = Date.now() + 2000;
    while (Date.now() < until && !closed && !(text.length > 0 && text.length === seen)) {
      seen = text.length;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    replies.push(closed ? `${text}<closed>` : text);
  }
  socket.destroy();
  return replies;
}

/** Conversations before logging in, each step one write; replies checked against memcached -Y. */
const CONVERSATIONS: Record<string, readonly string[]> = {
  'a command before logging in': [
    'get foo\r\n',
    'mg foo v\r\n',
    'add x 0 0 1\r\n',
    'a\r\n',
    'quit\r\n',
  ],
  'a wrong password, then a command': ['set x 0 0 8\r\nbad pass\r\n', 'get foo\r\n'],
  'an unknown user, case matters': ['set x 0 0 12\r\nALICE s3cret\r\n', 'get foo\r\n'],
  'the right password, then commands run': [
    'set x 0 0 12\r\nalice s3cret\r\n',
    'set k 0 0 1\r\nv\r\n',
    'get k x\r\n',
  ],
  'a second user; noreply still answers': ['set x 0 0 7 noreply\r\nbob pw2\r\n', 'get k\r\n'],
  'runs of spaces and extra words': ['set x 0 0 13\r\nalice  s3cret\r\n', 'delete nothing\r\n'],
  'trailing word ignored': ['set x 0 0 11\r\nbob pw2 xyz\r\n', 'delete nothing\r\n'],
  'flags and exptime are not looked at': [
    'set x abc zz 12\r\nalice s3cret\r\n',
    'delete nothing\r\n',
  ],
  'one word is a bad token': ['set x 0 0 12\r\nalice:s3cret\r\n', 'set x 0 0 4\r\nbob \r\n'],
  'a bad data terminator': ['set x 0 0 12\r\nalice s3cretXY', 'get foo\r\n'],
  'a password cut short': ['set x 0 0 12\r\nalice s3cre\n\r\n', 'get foo\r\n'],
  'set without a length': ['set x\r\n', 'set x 0 12\r\n', 'set x 0 0 abc\r\n', 'set x 0 0 -1\r\n'],
  'an empty data block': ['set x 0 0 0\r\n\r\n', 'get foo\r\n'],
  'a bare-LF command line': ['set x 0 0 12\nalice s3cret\r\n', 'delete nothing\r\n'],
  // memcached reads the block as a C string: a NUL ends it, and what follows is not looked at.
  'a NUL after the password': ['set x 0 0 16\r\nalice s3cret\0xyz\r\n', 'delete nothing\r\n'],
  'a NUL ending the password': ['set x 0 0 8\r\nbob pw2\0\r\n', 'delete nothing\r\n'],
  'a NUL before the password': ['set x 0 0 12\r\nalice\0s3cret\r\n', 'get foo\r\n'],
};

describe('ASCII authentication (--memcached-auth-file), as memcached -Y answers', () => {
  test('every conversation gets the replies the real memcached gives', async () => {
    real = await startRealMemcached(['-Y', authFile]);
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--memcached-auth-file',
      authFile,
      '--log-level',
      'warn',
    ]);
    for (const [name, steps] of Object.entries(CONVERSATIONS)) {
      const [ours, theirs] = await Promise.all([
        converse(node.memcached!.port, steps),
        converse(real.port, steps),
      ]);
      expect({ name, replies: ours }).toEqual({ name, replies: theirs });
    }
    // Checked against the transcripts too, so the table cannot pass by both being silent.
    expect(
      await converse(node.memcached!.port, CONVERSATIONS['a wrong password, then a command']!),
    ).toEqual(['CLIENT_ERROR authentication failure\r\n', 'CLIENT_ERROR unauthenticated\r\n']);
    expect(
      await converse(node.memcached!.port, CONVERSATIONS['the right password, then commands run']!),
    ).toEqual(['STORED\r\n', 'STORED\r\n', 'VALUE k 0 1\r\nv\r\nEND\r\n']);
    expect(node.output()).not.toContain('s3cret');
  }, 20_000);

  test('commands sent together before logging in each get their reply; a login can lead a pipeline', async () => {
    // memcached -Y answers only the last of several commands that arrive in one read; we answer each.
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--memcached-auth-file',
      authFile,
      '--log-level',
      'silent',
    ]);
    expect(
      await converse(node.memcached!.port, [
        'get x\r\nset x 0 0 8\r\nbad pass\r\nset x 0 0 12\r\nalice s3cret\r\nset k 0 0 1\r\nv\r\nget k\r\n',
      ]),
    ).toEqual([
      'CLIENT_ERROR unauthenticated\r\nCLIENT_ERROR authentication failure\r\nSTORED\r\nSTORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n',
    ]);
  });

  test('an HTTP request before logging in is hung up on: a web page cannot try passwords (memcached answers it)', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--memcached-auth-file',
      authFile,
      '--log-level',
      'silent',
    ]);
    const port = node.memcached!.port;
    const [stored] = await converse(port, [
      'set x 0 0 12\r\nalice s3cret\r\nset kept 0 0 1\r\nv\r\n',
    ]);
    expect(stored).toBe('STORED\r\nSTORED\r\n');
    // What a browser sends for a token-less text/plain POST: guesses, then commands if one works.
    const body =
      'set x 0 0 8\r\nbad pass\r\nset x 0 0 12\r\nalice s3cret\r\nflush_all\r\nset planted 0 0 1\r\np\r\n';
    const request = `POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    expect(await converse(port, [request])).toEqual(['<closed>']);
    expect(await converse(port, ['OPTIONS * HTTP/1.1\r\n', 'get foo\r\n'])).toEqual([
      '<closed>',
      '<closed>',
    ]);
    const [after] = await converse(port, ['set x 0 0 12\r\nalice s3cret\r\nget kept planted\r\n']);
    expect(after).toBe('STORED\r\nVALUE kept 0 1\r\nv\r\nEND\r\n');
  });

  test('a data block longer than any password is dropped, not held', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--memcached-auth-file',
      authFile,
      '--max-value-bytes',
      '1kb',
      '--log-level',
      'silent',
    ]);
    const [reply, after] = await converse(node.memcached!.port, [
      `set x 0 0 2000\r\n${'a'.repeat(2000)}\r\n`,
      'get foo\r\n',
    ]);
    expect(reply).toBe('CLIENT_ERROR authentication failure\r\n');
    expect(after).toBe('CLIENT_ERROR unauthenticated\r\n');
  });

  test.each([
    ['a line without a colon', 'alice\n', /line 1 must be user:password/],
    ['an empty password', 'alice:s3cret\nbob:\n', /line 2 must be user:password/],
    ['a password with a space', 'alice:two words\n', /line 1 must be user:password/],
    ['no users at all', '\n\n', /holds no user:password line/],
  ])(
    'an auth file with %s stops the CLI with exit 2, naming the flag, never the password',
    async (_name, text, message) => {
      const file = join(dir, 'bad');
      writeFileSync(file, text);
      await expect(
        startCliNode(['--memcached-port', '0', '--memcached-auth-file', file]),
      ).rejects.toThrow(message);
      await expect(startCliNode(['--memcached-auth-file', file])).rejects.toThrow(
        /exited with 2[\s\S]*--memcached-auth-file/,
      );
      await expect(startCliNode(['--memcached-auth-file', file])).rejects.not.toThrow(
        /s3cret|two words/,
      );
    },
  );

  test('an unreadable auth file stops the CLI with exit 2', async () => {
    await expect(
      startCliNode(['--memcached-auth-file', join(dir, 'missing')], {
        env: {},
      }),
    ).rejects.toThrow(/exited with 2[\s\S]*--memcached-auth-file: .*cannot read/);
    await expect(
      startCliNode([], { env: { DCACHE_MEMCACHED_AUTH_FILE: join(dir, 'missing') } }),
    ).rejects.toThrow(/DCACHE_MEMCACHED_AUTH_FILE: .*cannot read/);
  });
});
