// memjs speaks memcached's binary protocol, which a node's memcached port does not: each call must
// fail at once with the server's answer, not wait for ever (memjs neither fails nor retries the
// requests it had sent when a server hangs up, so a port that only closed hung every call).
import memjs from 'memjs';
import { afterAll, describe, expect, it } from 'vitest';
import { commonFreePort, startCliNode, stopCliNodes } from './cli-nodes.js';

afterAll(() => stopCliNodes());

/** The call's outcome, or 'pending' when it has not settled within `ms`. */
async function settledWithin<T>(call: Promise<T>, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      call.then(
        () => 'resolved',
        (error: Error) => `rejected: ${error.message}`,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('memjs against the memcached port', () => {
  it('fails each call at once with "unknown command", on one connection after another', async () => {
    const port = await commonFreePort(['127.0.0.1']);
    await startCliNode('127.0.0.1', 0, ['--memcached-port', String(port)]);
    const client = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, timeout: 2 });
    try {
      const calls: (() => Promise<unknown>)[] = [
        () => client.set('k', 'v', {}),
        () => client.get('k'),
        () => client.delete('k'),
      ];
      for (const call of calls) {
        expect(await settledWithin(call(), 3000)).toMatch(/^rejected: .*Unknown command/);
      }
    } finally {
      client.close();
    }
  });
});
