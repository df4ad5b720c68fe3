import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, requestIdFields } from '../src/observability/logger.js';
import { CLI_BIN, startCliNode, stopCliNodes } from './cli-node.js';

const dirs: string[] = [];
afterEach(async () => {
  await stopCliNodes();
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

interface LogLine {
  time: string;
  level: string;
  node: string;
  event: string;
  msg: string;
  [field: string]: unknown;
}

/** Every non-empty line of `output`, each parsed as JSON (a line that is not fails the test). */
function parseLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

describe('--log-format json: a node started through the CLI', () => {
  it('writes every line as JSON with time, level, node, event and msg, from start to exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-json-logs-'));
    dirs.push(dir);
    const node = await startCliNode([
      '--log-format',
      'json',
      '--log-level',
      'debug',
      '--node-id',
      'json-node',
      '--memcached-port',
      '0',
      '--snapshot-file',
      join(dir, 'cache.snapshot'),
    ]);
    // A refusal by the hono routes and one by the batch fast path, each with a request id.
    const longKey = 'k'.repeat(300);
    const refused = await fetch(`${node.url}/v1/keys/${longKey}`, {
      headers: { 'x-request-id': 'req-hono-1' },
    });
    expect(refused.status).toBe(400);
    const garbage = await fetch(`${node.url}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', 'x-request-id': 'req-fast-2' },
      body: new Uint8Array([0xc1]),
    });
    expect(garbage.status).toBe(400);
    // An id that could forge a line is left out, not written.
    await fetch(`${node.url}/v1/keys/${longKey}`, { headers: { 'x-request-id': 'a b"c' } });
    expect(await node.stop('SIGTERM')).toBe(0);

    const lines = parseLines(node.output());
    for (const line of lines) {
      expect(Object.keys(line).slice(0, 5)).toEqual(['time', 'level', 'node', 'event', 'msg']);
      expect(new Date(line.time).toISOString()).toBe(line.time);
      expect(['error', 'warn', 'info', 'debug']).toContain(line.level);
      expect(line.node).toBe('json-node');
      expect(line.event).toMatch(/^[a-z_]+$/);
    }
    const events = lines.map((line) => line.event);
    expect(events).toEqual(
      expect.arrayContaining(['snapshot_missing', 'listening', 'shutdown', 'snapshot_saved']),
    );
    const listening = lines.find((line) => line.event === 'listening')!;
    expect(listening).toMatchObject({ level: 'info', url: node.url });
    expect(listening.memcached).toBe(`127.0.0.1:${node.memcached!.port}`);
    expect(lines.find((line) => line.event === 'shutdown')).toMatchObject({ signal: 'SIGTERM' });
    expect(lines.find((line) => line.event === 'snapshot_saved')).toMatchObject({
      entries: 0,
      file: join(dir, 'cache.snapshot'),
    });
    const refusals = lines.filter((line) => line.event === 'request_refused');
    expect(refusals.map((line) => line.requestId)).toEqual(['req-hono-1', 'req-fast-2', undefined]);
    expect(refusals.every((line) => line.level === 'debug')).toBe(true);
  });

  it('names the file on the snapshot lines about leftovers and an invalid version fence', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dcache-json-logs-'));
    dirs.push(dir);
    const snapshot = join(dir, 'cache.snapshot');
    // A fence the node cannot read, and a save's temporary file left by a process long gone.
    await writeFile(`${snapshot}.fence`, 'not json');
    await writeFile(join(dir, '.cache.snapshot.999999999.0123abcd.tmp'), 'partial');
    const node = await startCliNode(['--log-format', 'json', '--snapshot-file', snapshot]);
    const lines = parseLines(node.output());
    expect(lines.find((line) => line.event === 'version_fence_invalid')).toMatchObject({
      file: `${snapshot}.fence`,
    });
    expect(lines.find((line) => line.event === 'snapshot_leftovers_removed')).toMatchObject({
      file: snapshot,
    });
  });

  it('reports a port it cannot bind as a listen_failed line, and exits 1', async () => {
    const taken = await startCliNode(['--log-level', 'silent']);
    const port = new URL(taken.url).port;
    const second = spawnSync(
      process.execPath,
      [CLI_BIN, '--port', port, '--log-format', 'json', '--node-id', 'late'],
      { encoding: 'utf8', timeout: 15_000 },
    );
    expect(second.status).toBe(1);
    expect(second.stdout).toBe('');
    const [line, ...rest] = parseLines(second.stderr);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({ level: 'error', node: 'late', event: 'listen_failed' });
    expect(line!.msg).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });

  it('reports a crash (an uncaught exception) as one fatal JSON line, and exits 1', async () => {
    const crash = fileURLToPath(new URL('./fixtures/crash-on-sigusr2.mjs', import.meta.url));
    const node = await startCliNode(['--log-format', 'json', '--node-id', 'crashing'], {
      env: { NODE_OPTIONS: `--import ${crash}` },
    });
    expect(await node.stop('SIGUSR2')).toBe(1);
    const lines = parseLines(node.output());
    expect(lines.map((line) => line.event)).toEqual(['listening', 'fatal']);
    expect(lines[1]).toMatchObject({ level: 'error', node: 'crashing' });
    expect(lines[1]!.msg).toMatch(/^dcache-server: Error: boom: an uncaught exception\n\s+at /);
  });

  it('keeps the plain lines by default', async () => {
    const node = await startCliNode(['--log-level', 'debug']);
    await fetch(`${node.url}/v1/keys/${'k'.repeat(300)}`, { headers: { 'x-request-id': 'r-1' } });
    expect(await node.stop('SIGTERM')).toBe(0);
    const lines = node.output().trim().split('\n');
    expect(lines.some((line) => line.startsWith('{'))).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^dcache-server .* listening on http/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z debug 400 GET .*\(request r-1\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z info SIGTERM: finishing/));
  });

  it('keeps what a client sent inside its plain line: a decoded newline cannot forge a line', async () => {
    const node = await startCliNode(['--log-level', 'debug']);
    // hono percent-decodes the path it reports: %0A becomes a newline in the refusal's message.
    const forged = `${'k'.repeat(300)}%0A2026-01-01T00:00:00.000Z%20error%20FORGED%1B[2J`;
    expect((await fetch(`${node.url}/v1/keys/${forged}`)).status).toBe(400);
    expect(await node.stop('SIGTERM')).toBe(0);
    const lines = node.output().trim().split('\n');
    const refusal = lines.findIndex((line) => / debug 400 GET /.test(line));
    expect(refusal).toBeGreaterThan(-1);
    expect(lines[refusal + 1]).toMatch(/^ {2}2026-01-01T00:00:00.000Z error FORGED\\x1b\[2J: /);
    expect(lines.filter((line) => line.includes('FORGED'))).toHaveLength(1);
    expect(node.output()).not.toContain('\x1b');
  });

  it('refuses an unknown format, naming the flag or the variable', () => {
    const bad = spawnSync(process.execPath, [CLI_BIN, '--log-format', 'xml'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--log-format: logFormat must be one of plain, json, got "xml"/);
    const badEnv = spawnSync(process.execPath, [CLI_BIN], {
      encoding: 'utf8',
      env: { ...process.env, DCACHE_LOG_FORMAT: 'yaml' },
    });
    expect(badEnv.status).toBe(2);
    expect(badEnv.stderr).toMatch(/DCACHE_LOG_FORMAT: logFormat must be one of/);
  });
});

describe('createLogger', () => {
  it('writes JSON lines at and below its level only, fields after the fixed five', () => {
    const written: string[] = [];
    const log = createLogger({
      level: 'warn',
      format: 'json',
      node: 'n1',
      write: (line) => written.push(line),
    });
    log.info('snapshot_saved', 'not written');
    log.warn('version_fence_invalid', 'written', { file: '/tmp/x' });
    log.error('request_error', 'also', { requestId: 'r' });
    expect(written).toHaveLength(2);
    expect(written.every((line) => line.endsWith('}\n'))).toBe(true);
    expect(JSON.parse(written[0]!)).toMatchObject({
      level: 'warn',
      node: 'n1',
      event: 'version_fence_invalid',
      msg: 'written',
      file: '/tmp/x',
    });
  });

  it('indents the lines of a plain message and escapes other control characters', () => {
    const written: string[] = [];
    const log = createLogger({ level: 'info', node: 'n1', write: (line) => written.push(line) });
    log.error('request_error', 'GET /v1/keys/a\r\nfake line\x1b[31m\tend\n    at stack (x.js:1:1)');
    expect(written).toHaveLength(1);
    expect(written[0]!.split('\n')).toEqual([
      expect.stringMatching(/^\S+Z error GET \/v1\/keys\/a\\x0d$/),
      '  fake line\\x1b[31m\tend',
      '      at stack (x.js:1:1)',
      '',
    ]);
  });

  it('takes a request id only when it is printable ASCII without spaces, 1–128 characters', () => {
    expect(requestIdFields('abc-123')).toEqual({ requestId: 'abc-123' });
    expect(requestIdFields('x'.repeat(128))).toEqual({ requestId: 'x'.repeat(128) });
    for (const bad of [undefined, '', 'a b', 'x'.repeat(129), 'é', ['a', 'b']]) {
      expect(requestIdFields(bad)).toBeUndefined();
    }
  });
});
