import { describe, expect, it } from 'vitest';
import { manualClock } from '../helpers.js';
import { open } from './fake-connection.js';

describe('a data block arriving after the flush time its command line was settled against', () => {
  it.each([
    ['set', 'set mk 0 0 1\r\n', 'STORED\r\n'],
    ['ms', 'ms mk 1\r\n', 'HD\r\n'],
  ])(
    '%s: the item written after the flush time stays, the ones before are gone',
    (_, line, stored) => {
      const clock = manualClock(1_700_000_000_000);
      const { socket } = open({ now: clock.now });
      socket.emit('data', Buffer.from('set old 0 0 1\r\nx\r\nflush_all 1\r\n'));
      expect(socket.text()).toBe('STORED\r\nOK\r\n');
      socket.emit('data', Buffer.from(line));
      clock.advance(2000); // the flush time passes while the data block is on its way
      socket.emit('data', Buffer.from('v\r\n'));
      socket.emit('data', Buffer.from('get mk old\r\n'));
      expect(socket.text()).toBe(`STORED\r\nOK\r\n${stored}VALUE mk 0 1\r\nv\r\nEND\r\n`);
    },
  );
});
