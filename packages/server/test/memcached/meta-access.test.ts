import { describe, expect, test } from 'vitest';
import { open } from './fake-connection.js';

/**
 * Meta `h` (read before?), `l` (seconds since the last read or write), `u` (leave no trace) and
 * the stale-item win token, with a clock the test moves by hand. Outcomes were checked against
 * memcached 1.6.18, except `l`'s exact values: memcached's clock ticks once a second and its
 * segmented LRU refreshes an item's time only on some reads (see MEMCACHED.md).
 */
function session() {
  let t = 1_700_000_000_000;
  const { socket } = open({ now: () => t });
  let seen = 0;
  return {
    advance(ms: number) {
      t += ms;
    },
    /** Sends `text` and returns the replies it produced. */
    send(text: string): string {
      socket.emit('data', Buffer.from(text, 'latin1'));
      const all = socket.text();
      const reply = all.slice(seen);
      seen = all.length;
      return reply;
    },
  };
}

describe('h: whether the item was read before this request', () => {
  test('the first mg reports h0 and counts as a read; u reads without counting', () => {
    const s = session();
    s.send('set a 0 0 1\r\nx\r\n');
    expect(s.send('mg a h u\r\n')).toBe('HD h0\r\n');
    expect(s.send('mg a h\r\n')).toBe('HD h0\r\n');
    expect(s.send('mg a h v\r\n')).toBe('VA 1 h1\r\nx\r\n');
  });

  test('get, gat and touch are reads; a T with u is not', () => {
    const s = session();
    s.send('set g 0 0 1\r\nx\r\nset t 0 0 1\r\nx\r\nset ga 0 0 1\r\nx\r\nset u 0 0 1\r\nx\r\n');
    s.send('get g\r\ntouch t 100\r\ngat 100 ga\r\nmg u u T100\r\n');
    expect(s.send('mg g h\r\nmg t h\r\nmg ga h\r\nmg u h\r\n')).toBe(
      'HD h1\r\nHD h1\r\nHD h1\r\nHD h0\r\n',
    );
  });

  test('a write starts over; an incr that still fits and md I change the item in place', () => {
    const s = session();
    s.send('set n 0 0 2\r\n10\r\nmg n\r\n');
    expect(s.send('incr n 1\r\nmg n h\r\n')).toBe('11\r\nHD h1\r\n');
    expect(s.send('incr n 100\r\nmg n h\r\n')).toBe('111\r\nHD h0\r\n');
    expect(s.send('ma n\r\nmg n h\r\n')).toBe('HD\r\nHD h1\r\n');
    expect(s.send('md n I\r\nmg n h\r\n')).toBe('HD\r\nHD h1 X W\r\n');
    expect(s.send('set n 0 0 1\r\n1\r\nmg n h\r\n')).toBe('STORED\r\nHD h0\r\n');
    expect(s.send('append n 0 0 1\r\n2\r\nmg n h\r\n')).toBe('STORED\r\nHD h0\r\n');
  });

  test('ma is not a read, even when it creates the item or sets its TTL', () => {
    const s = session();
    expect(s.send('ma c N30 J5 v\r\nmg c h\r\n')).toBe('VA 1\r\n5\r\nHD h0\r\n');
    expect(s.send('ma c T100\r\nmg c h\r\n')).toBe('HD\r\nHD h1\r\n');
  });

  test('an item vivified by N reports h0, and the next mg h1', () => {
    const s = session();
    expect(s.send('mg v N30 h v\r\n')).toBe('VA 0 h0 W\r\n\r\n');
    expect(s.send('mg v N30 h\r\n')).toBe('HD h1 Z\r\n');
  });
});

describe('l: whole seconds since the item was last read or written', () => {
  test('counts from the write, then from each read; u reads leave the time alone', () => {
    const s = session();
    s.send('set a 0 0 1\r\nx\r\n');
    s.advance(2500);
    expect(s.send('mg a l\r\n')).toBe('HD l2\r\n');
    expect(s.send('mg a l\r\n')).toBe('HD l0\r\n');
    s.advance(1999);
    expect(s.send('mg a l u\r\n')).toBe('HD l1\r\n');
    expect(s.send('mg a l h t\r\n')).toBe('HD l1 h1 t-1\r\n');
    expect(s.send('mg a l\r\n')).toBe('HD l0\r\n');
    s.advance(61_000);
    expect(s.send('get a\r\nmg a l\r\n')).toBe('VALUE a 0 1\r\nx\r\nEND\r\nHD l0\r\n');
  });

  test('me reports the same idle time and whether the item was fetched', () => {
    const s = session();
    s.send('set a 0 0 1\r\nx\r\n');
    s.advance(3000);
    expect(s.send('me a\r\n')).toMatch(/^ME a exp=-1 la=3 cas=\d+ fetch=no /);
    s.send('mg a\r\n');
    s.advance(1000);
    expect(s.send('me a\r\n')).toMatch(/^ME a exp=-1 la=1 cas=\d+ fetch=yes /);
  });

  test('me shows the key as the item holds it, takes b only right after the key, and ignores the rest (as memcached 1.6.18)', () => {
    const s = session();
    // "bWYx" is base64 for "mf1", "bWYy" for "mf2".
    s.send('ms mf1 1\r\nx\r\nms bWYy 1 b\r\ny\r\n');
    // A raw item looked up by its base64 key is shown raw; a b-key item looked up raw, as base64.
    expect(s.send('me bWYx b\r\n')).toMatch(/^ME mf1 exp=-1 /);
    expect(s.send('me mf2\r\n')).toMatch(/^ME bWYy exp=-1 /);
    // Other tokens are not flags to me: ignored, whatever they are.
    expect(s.send('me mf1 x y z\r\n')).toMatch(/^ME mf1 exp=-1 .* size=4\r\n$/);
    // b anywhere but right after the key is ignored too: the key is looked up as written.
    expect(s.send('me bWYx v b\r\n')).toBe('EN\r\n');
    expect(s.send('me !!!! b\r\n')).toBe('CLIENT_ERROR bad command line format\r\n');
    expect(s.send('me mf1\r\n')).toMatch(/^ME mf1 /);
  });
});

describe('the win token for a stale or expiring item is handed out once', () => {
  test('after md I, the first mg wins (W) and every later one is told to wait (Z)', () => {
    const s = session();
    s.send('ms s 1 T100\r\nx\r\nmd s I\r\n');
    expect(s.send('mg s v\r\n')).toBe('VA 1 X W\r\nx\r\n');
    expect(s.send('mg s v\r\n')).toBe('VA 1 Z X\r\nx\r\n');
    expect(s.send('mg s h\r\n')).toBe('HD h1 Z X\r\n');
    expect(s.send('mg s u\r\n')).toBe('HD Z X\r\n');
    expect(s.send('mg s T30\r\n')).toBe('HD Z X\r\n');
    // The winner's new value replaces the stale item: no more tokens.
    expect(s.send('ms s 1 T100\r\ny\r\nmg s v\r\n')).toBe('HD\r\nVA 1\r\ny\r\n');
  });

  test('R: the first mg under the recache threshold wins, the next ones see Z', () => {
    const s = session();
    s.send('ms r 1 T10\r\nx\r\n');
    expect(s.send('mg r R30 v\r\n')).toBe('VA 1 W\r\nx\r\n');
    expect(s.send('mg r R30 v\r\n')).toBe('VA 1 Z\r\nx\r\n');
    expect(s.send('mg r v\r\n')).toBe('VA 1 Z\r\nx\r\n');
    // Marked stale after the token went out: a new stale item, one new winner.
    expect(s.send('md r I\r\nmg r\r\nmg r\r\n')).toBe('HD\r\nHD X W\r\nHD Z X\r\n');
  });

  test('a stale write (ms I with an older CAS) keeps the TTL and the token already handed out (as memcached 1.6.18)', () => {
    const s = session();
    const casOf = (key: string): string => /c(\d+)/.exec(s.send(`mg ${key} c\r\n`))![1]!;
    s.send('ms a 1 T100\r\nw\r\n');
    const old = casOf('a');
    s.send('ms a 1 T100\r\nx\r\n');
    expect(s.send('md a I T30\r\nmg a t v\r\n')).toBe('HD\r\nVA 1 t30 X W\r\nx\r\n');
    // A late writer's value, its own T ignored: still stale, still recached by the first client.
    expect(s.send(`ms a 1 I T500 C${old}\r\nz\r\n`)).toBe('HD\r\n');
    expect(s.send('mg a t v\r\n')).toBe('VA 1 t30 Z X\r\nz\r\n');
    expect(s.send('mg a t v\r\n')).toBe('VA 1 t30 Z X\r\nz\r\n');
  });

  test('ms I with an older CAS marks a fresh item stale (one W), keeps its TTL, and keeps an R token', () => {
    const s = session();
    const casOf = (key: string): string => /c(\d+)/.exec(s.send(`mg ${key} c\r\n`))![1]!;
    s.send('ms b 1 T100\r\nx\r\n');
    const oldB = casOf('b');
    s.send('ms b 1 T100\r\nx\r\n');
    expect(s.send(`ms b 1 I T5 C${oldB}\r\nz\r\nmg b t v\r\nmg b t\r\n`)).toBe(
      'HD\r\nVA 1 t100 X W\r\nz\r\nHD t100 Z X\r\n',
    );
    // Without a TTL the stale value keeps none, whatever its T says.
    s.send('ms n 1\r\nx\r\n');
    const oldN = casOf('n');
    s.send('ms n 1\r\nx\r\n');
    expect(s.send(`ms n 1 I T9 C${oldN}\r\nz\r\nmg n t\r\n`)).toBe('HD\r\nHD t-1 X W\r\n');
    // The win token went out for R (not stale): the stale value keeps it, so no second W.
    s.send('ms r 1 T10\r\nx\r\n');
    const oldR = casOf('r');
    s.send('ms r 1 T10\r\nx\r\n');
    expect(s.send('mg r t R30\r\n')).toBe('HD t10 W\r\n');
    expect(s.send(`ms r 1 I C${oldR}\r\nz\r\nmg r t v\r\n`)).toBe('HD\r\nVA 1 t10 Z X\r\nz\r\n');
  });

  test('an incr, decr or ma that changes a stale number in place keeps it stale and its token sent', () => {
    const s = session();
    s.send('set n 0 0 2\r\n10\r\nmd n I T30\r\n');
    expect(s.send('mg n v\r\n')).toBe('VA 2 X W\r\n10\r\n');
    expect(s.send('incr n 1\r\nmg n v\r\n')).toBe('11\r\nVA 2 Z X\r\n11\r\n');
    // The shorter number is padded in place, so the remaining TTL stays too.
    expect(s.send('decr n 2\r\nmg n v t\r\n')).toBe('9\r\nVA 2 t30 Z X\r\n9 \r\n');
    expect(s.send('ma n\r\nmg n\r\n')).toBe('HD\r\nHD Z X\r\n');
    // A longer number is a new item (memcached allocates one): no marks left.
    expect(s.send('incr n 100\r\nmg n\r\n')).toBe('110\r\nHD\r\n');
    // Stale but no token handed out yet: the first reader after the incr wins.
    s.send('set m 0 0 2\r\n10\r\nmd m I\r\n');
    expect(s.send('incr m 1\r\nmg m\r\nmg m\r\n')).toBe('11\r\nHD X W\r\nHD Z X\r\n');
    // An R token (not stale) stays handed out as well.
    s.send('set r 0 10 2\r\n10\r\n');
    expect(s.send('mg r R30\r\n')).toBe('HD W\r\n');
    expect(s.send('incr r 1\r\nmg r R30\r\nma r\r\nmg r R30\r\n')).toBe(
      '11\r\nHD Z\r\nHD\r\nHD Z\r\n',
    );
  });

  test('N: the client that vivified the miss wins; the others wait', () => {
    const s = session();
    expect(s.send('mg n N30 s\r\n')).toBe('HD s0 W\r\n');
    expect(s.send('mg n N30 s\r\n')).toBe('HD s0 Z\r\n');
    expect(s.send('mg n s q\r\n')).toBe('HD s0 Z\r\n');
  });
});
