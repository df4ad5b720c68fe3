import { describe, expect, test } from 'vitest';
import { InputBudget } from '../../src/memcached/input-budget.js';
import { open } from './fake-connection.js';
import type { FakeSocket } from './fake-connection.js';

/**
 * The input timeout (the listener's `inputTimeoutMs`, the node's `--request-timeout`) cuts a
 * client that is slow to SEND a data block or a long line. While the node has stopped reading a
 * connection because the client has not taken its replies, the input it holds is the node's
 * wait, not the client's: that time must not count (a slow reader of a big pipeline was reset
 * mid-read, where memcached keeps it).
 */
const TIMEOUT_MS = 40;
const VALUE = Buffer.alloc(200_000, 0x76);
/** `get v` padded with 100 missing keys (~400 bytes a line): a few lines are past 2 KiB. */
const GET_LINE = `get v ${Array.from({ length: 100 }, (_, i) => `m${i}`).join(' ')}\r\n`;
const LINES = 12;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(probe: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (probe()) return true;
    await sleep(5);
  }
  return probe();
}

/** A connection with an input budget and a short input timeout, holding `v` (200 KB). */
function openWithValue(): { socket: FakeSocket; input: InputBudget } {
  const input = new InputBudget(64 * 1024 * 1024);
  const { socket } = open({ limits: { input, inputTimeoutMs: TIMEOUT_MS } });
  socket.emit(
    'data',
    Buffer.concat([Buffer.from(`set v 0 0 ${VALUE.length}\r\n`), VALUE, Buffer.from('\r\n')]),
  );
  expect(socket.text()).toBe('STORED\r\n');
  return { socket, input };
}

const values = (socket: FakeSocket): number => socket.text().split('VALUE v 0').length - 1;

describe('the input timeout counts only time the node spends waiting for the client to send', () => {
  test('a client that pipelines past 2 KiB and reads its replies slowly is not cut while the node waits for it', async () => {
    const { socket, input } = openWithValue();
    // The kernel takes nothing more: the second reply passes the flush threshold, its write is
    // refused and reading pauses with ten lines (~4 KB) of the pipeline unprocessed.
    socket.full = true;
    socket.emit('data', Buffer.from(`${GET_LINE.repeat(LINES)}version\r\n`));
    expect(socket.paused).toBe(true);
    expect(values(socket)).toBe(2);
    expect(input.total).toBeGreaterThan(2048);
    // Five timeouts without the client reading: the node is the one not reading.
    await sleep(TIMEOUT_MS * 5);
    expect(socket.destroyed).toBe(false);
    // It reads a little at a time, each gap longer than the timeout: a reply or two per 'drain'.
    for (let drains = 0; !socket.text().endsWith('VERSION test\r\n'); drains++) {
      expect(drains).toBeLessThan(LINES);
      socket.emit('drain');
      await sleep(TIMEOUT_MS * 2);
      expect(socket.destroyed).toBe(false);
    }
    expect(values(socket)).toBe(LINES);
    expect(input.total).toBe(0);
  });

  test('a client that never reads keeps its connection (as memcached does), holding only the input read before the pause, counted in the budget', async () => {
    const { socket, input } = openWithValue();
    socket.full = true;
    const pipeline = Buffer.from(`${GET_LINE.repeat(LINES)}version\r\n`);
    socket.emit('data', pipeline);
    expect(socket.paused).toBe(true);
    const held = input.total;
    expect(held).toBeGreaterThan(2048);
    expect(held).toBeLessThan(pipeline.length);
    await sleep(TIMEOUT_MS * 8);
    // Open, paused (a real socket reads nothing more from it), no reply more and no byte more held.
    expect(socket.destroyed).toBe(false);
    expect(socket.paused).toBe(true);
    expect(values(socket)).toBe(2);
    expect(input.total).toBe(held);
    // Its bytes come back when it goes (or when --idle-timeout kicks it).
    socket.emit('close');
    expect(input.total).toBe(0);
  });

  test('a client slow to send a data block is still cut, however it trickles', async () => {
    const { socket, input } = openWithValue();
    socket.emit('data', Buffer.concat([Buffer.from('set t 0 0 100000\r\n'), Buffer.alloc(50_000)]));
    const started = performance.now();
    // A byte every quarter timeout: never idle, never done.
    while (!socket.destroyed && performance.now() - started < TIMEOUT_MS * 50) {
      socket.emit('data', Buffer.from('a'));
      await sleep(TIMEOUT_MS / 4);
    }
    expect(socket.destroyed).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS * 0.9);
    socket.emit('close');
    expect(input.total).toBe(0);
  });

  test('a client slow to send a long get line is still cut', async () => {
    const { socket } = openWithValue();
    socket.emit('data', Buffer.from(`get${' k'.repeat(5000)}`));
    expect(socket.destroyed).toBe(false);
    expect(await until(() => socket.destroyed, TIMEOUT_MS * 50)).toBe(true);
    expect(socket.text()).toBe('STORED\r\n');
  });

  test('a block begun before a pause for replies: the wait for the client to read does not count, the wait for the rest of the block does', async () => {
    const { socket } = openWithValue();
    socket.full = true;
    // The get's reply is refused by the kernel once the set has begun its block.
    socket.emit(
      'data',
      Buffer.concat([Buffer.from('get v\r\nset t 0 0 100000\r\n'), Buffer.alloc(50_000)]),
    );
    expect(socket.paused).toBe(true);
    await sleep(TIMEOUT_MS * 5);
    expect(socket.destroyed).toBe(false);
    // The client reads its reply; reading resumes, and the rest of the block never comes.
    socket.full = false;
    socket.emit('drain');
    expect(socket.paused).toBe(false);
    expect(await until(() => socket.destroyed, TIMEOUT_MS * 50)).toBe(true);
    expect(values(socket)).toBe(1);
  });
});
