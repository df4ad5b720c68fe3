import { afterEach, describe, expect, test } from 'vitest';
import { startCliNode, stopCliNodes } from '../cli-node.js';
import { ask, destroySockets, MiB, openSocket, waitFor } from './memcached-sockets.js';

afterEach(async () => {
  destroySockets();
  await stopCliNodes();
});

function stat(stats: string, name: string): number {
  const match = new RegExp(`^STAT ${name} (\\d+)\\r$`, 'm').exec(stats);
  if (match === null) throw new Error(`no STAT ${name} in ${stats}`);
  return Number(match[1]);
}

describe('stalled memcached clients (hostile)', () => {
  test('with --idle-timeout, connections that stop reading are closed and their replies dropped', async () => {
    const node = await startCliNode([
      '--memcached-port',
      '0',
      '--idle-timeout',
      '500',
      '--log-level',
      'warn',
    ]);
    const port = node.memcached!.port;
    const setter = await openSocket(port);
    const value = Buffer.alloc(MiB, 0x62);
    await ask(
      setter,
      Buffer.concat([Buffer.from(`set big 0 0 ${MiB}\r\n`), value, Buffer.from('\r\n')]),
      'STORED\r\n',
    );
    setter.destroy();
    for (let i = 0; i < 20; i++) {
      const socket = await openSocket(port);
      socket.pause();
      socket.write(`get${' big'.repeat(1000)}\r\n`);
    }
    // A client that keeps talking is never idle; the stalled ones are kicked.
    const watcher = await openSocket(port);
    let stats = '';
    const kicked = await waitFor(async () => {
      stats = await ask(watcher, 'stats\r\n', 'END\r\n');
      return stat(stats, 'idle_kicks') >= 20;
    }, 5000);
    expect(kicked).toBe(true);
    expect(stat(stats, 'curr_connections')).toBe(1);
    expect(await ask(watcher, 'get big\r\n', 'END\r\n')).toBe(
      `VALUE big 0 ${MiB}\r\n${value.toString('latin1')}\r\nEND\r\n`,
    );
  }, 20_000);
});
