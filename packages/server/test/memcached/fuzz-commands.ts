import fc from 'fast-check';

/**
 * Random memcached command sequences for the differential test: valid commands, malformed lines
 * and bad data blocks, HTTP-looking lines, keys that need base64, and the meta flags that report
 * or avoid reads (h, l, u) and hand out win tokens. Every item is self-delimiting (a data block is
 * always exactly its declared length + 2 bytes), so both servers stay in step. `{cas:<key>}` is
 * replaced, per server, by the last CAS that server reported for the key, and `{oldcas:<key>}` by
 * one less (older than the item's, for a stale write `ms … I C…`). Deliberate differences
 * (see MEMCACHED.md) are not generated: stats, me, quit.
 */
const key = fc.constantFrom('k0', 'k1', 'k2', 'n0', 'n1');
const anyKey = fc.oneof(
  { weight: 12, arbitrary: key },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'x'.repeat(250),
      'y'.repeat(251),
      'caf\u00e9',
      'a\tb',
      '\u0010\u0010k',
      'k\u007f',
      'k\rk',
    ),
  },
);
const value = fc.oneof(
  fc.stringMatching(/^[a-z0-9]{0,10}$/),
  fc.constantFrom('0', '1', '10', '100', '18446744073709551615', ' 5', '-1', '99 ', '7x', ''),
);
const flagsToken = fc.constantFrom('0', '1', '42', '4294967295', '4294967296', '-1', 'x', '+7');
const farFuture = String(Math.floor(Date.now() / 1000) + 100_000);
const exptime = fc.constantFrom('0', '-1', '1000', '2147483648', '1000000000', farFuture, 'x');
const noreply = fc.constantFrom('', '', ' noreply');
const delta = fc.constantFrom('1', '5', '18446744073709551615', '18446744073709551616', '-1', 'x');

const storage = fc
  .tuple(
    fc.constantFrom('set', 'set', 'add', 'replace', 'append', 'prepend', 'cas'),
    anyKey,
    flagsToken,
    exptime,
    value,
    noreply,
    fc.constantFrom('ok', 'ok', 'ok', 'ok', 'badchunk', 'badlen'),
  )
  .map(([cmd, k, f, e, v, nr, shape]) => {
    const cas = cmd === 'cas' ? ` {cas:${k}}` : '';
    if (shape === 'badlen') return `${cmd} ${k} ${f} ${e} z${cas}${nr}\r\nzz\r\n`;
    const term = shape === 'badchunk' ? 'ab\r\n' : '\r\n';
    return `${cmd} ${k} ${f} ${e} ${Buffer.byteLength(v)}${cas}${nr}\r\n${v}${term}`;
  });

const retrievalOf = (k: fc.Arbitrary<string>) =>
  fc
    .tuple(
      fc.constantFrom('get', 'gets', 'gat 1000', 'gats 0', 'gat -1', 'bget'),
      fc.array(k, { minLength: 1, maxLength: 4 }),
    )
    .map(([cmd, keys]) => `${cmd} ${keys.join(' ')}\r\n`);
const retrieval = retrievalOf(anyKey);

const simple = fc.oneof(
  fc
    .tuple(anyKey, fc.constantFrom('', ' 0', ' noreply', ' 0 noreply', ' 5', ' 1 2 3'))
    .map(([k, rest]) => `delete ${k}${rest}\r\n`),
  fc
    .tuple(fc.constantFrom('incr', 'decr'), anyKey, delta, noreply)
    .map(([c, k, d, nr]) => `${c} ${k} ${d}${nr}\r\n`),
  fc.tuple(anyKey, exptime, noreply).map(([k, e, nr]) => `touch ${k} ${e}${nr}\r\n`),
  fc.constantFrom(
    'flush_all\r\n',
    'flush_all 0\r\n',
    'flush_all -1\r\n',
    'flush_all noreply\r\n',
    'flush_all x\r\n',
    'flush_all 0 noreply\r\n',
  ),
  fc.constantFrom(
    'verbosity 1\r\n',
    'verbosity\r\n',
    'verbosity x\r\n',
    'verbosity 1 noreply\r\n',
    'verbosity 1 2 3\r\n',
  ),
  fc.constantFrom('version\r\n', 'mn\r\n', 'mn x\r\n'),
);

const garbage = fc.oneof(
  fc.constantFrom(
    '\r\n',
    'foo\r\n',
    'GET k0\r\n',
    'get\r\n',
    'set k0\r\n',
    'm\r\n',
    'mx k0\r\n',
    'incr k0\r\n',
    'gat x k0\r\n',
    'gat 10\r\n',
    'ms k0 x\r\n',
    'ms k0\r\n',
    'mg\r\n',
    '  get   k0  \r\n',
    'x\r\n',
    'set k0 0 0 -1\r\n',
    'cas k0 0 0 1\r\n',
    'touch k0\r\n',
    'delete\r\n',
    'get k0\n',
    'mg k0 v\n',
  ),
  fc.stringMatching(/^[a-z ]{0,12}$/).map((s) => `${s}\r\n`),
);

/**
 * Lines a browser or an HTTP client sends (memcached hangs up on a request line), and lines that
 * only look like one. Whatever contains "HTTP/" runs on a connection of its own ({@link hangsUp}).
 */
const httpRequestLine = fc
  .tuple(
    fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS', 'HEAD', 'DELETE', 'CONNECT', 'PRI', 'FOO'),
    fc.constantFrom(' /', ' /v1/keys/k0', ' *', ' 127.0.0.1:80', '', ' a b'),
    fc.constantFrom(' HTTP/1.1', ' HTTP/1.0', ' HTTP/2.0', ' HTTP/', ' HTTP/1.1\r'),
  )
  .map(([method, target, version]) => `${method}${target}${version}`);
const httpLike = fc.oneof(
  // A request line, its headers and a body of memcached commands (the cross-protocol attack).
  fc
    .tuple(httpRequestLine, fc.constantFrom('', 'Host: x\r\n', 'Content-Type: text/plain\r\n'))
    .map(
      ([line, header]) =>
        `${line}\r\n${header}\r\nflush_all\r\nset k0 0 0 4\r\npwnd\r\ndelete k1\r\n`,
    ),
  // Commands earlier in the same write run; their replies go with the connection.
  fc
    .tuple(
      fc.constantFrom('set k1 0 0 1\r\nx\r\n', 'delete k0\r\n', 'version\r\n'),
      httpRequestLine,
    )
    .map(([before, line]) => `${before}${line}\r\n`),
  // Not request lines: memcached commands and plain errors.
  fc.constantFrom(
    'get / HTTP/1.1\r\n',
    'bget k0 HTTP/1.1\r\n',
    'GET / http/1.1\r\n',
    'GET / HTTP/1.1 x\r\n',
    'G / HTTP/1.1\r\n',
    'HTTP/1.1 200 OK\r\n',
    'HTTP/1.1\r\n',
    'delete / HTTP/1.1\r\n',
    'touch k0 HTTP/1.1\r\n',
    'set k0 0 0 1 HTTP/1.1\r\nx\r\n',
    'mn HTTP/1.1\r\n',
    'mg k0 HTTP/1.1\r\n',
    'version HTTP/1.1\r\n',
    'verbosity HTTP/1.1\r\n',
    'flush_all HTTP/1.1\r\n',
    `zz ${'a '.repeat(21)}HTTP/1.1 b c\r\n`,
    `zz ${'a '.repeat(20)}HTTP/1.1 b c\r\n`,
  ),
);

/** Whether a generated command must run on a connection of its own (the server may hang up). */
export function hangsUp(text: string): boolean {
  return text.includes('HTTP/');
}

const longOpaque = 'O' + 'o'.repeat(40);
const mgFlag = fc.constantFrom(
  'v',
  'k',
  'c',
  'f',
  's',
  't',
  'q',
  'O1',
  'Oabc',
  'T1000',
  'T-1',
  'N1000',
  'R2000',
  'u',
  'h',
  'h',
  'l',
  'l',
  'hx',
  'E5',
  'Z',
  'T',
  'Tx',
  longOpaque,
);
const msFlag = fc.constantFrom(
  'c',
  'k',
  'q',
  'F5',
  'Fx',
  'T1000',
  'T-1',
  'MS',
  'ME',
  'MA',
  'MP',
  'MR',
  'MX',
  'M',
  'I',
  'C1',
  'O9',
  'v',
  'Cx',
  'h',
  'l',
  longOpaque,
);
const mdFlag = fc.constantFrom('q', 'k', 'O2', 'C1', 'I', 'T1000', 'x', 'Cx', 'h', 'l', longOpaque);
const maFlag = fc.constantFrom(
  'q',
  'v',
  'k',
  't',
  'c',
  'N0',
  'N1000',
  'J5',
  'J18446744073709551615',
  'D3',
  'D18446744073709551615',
  'MI',
  'MD',
  'M+',
  'M-',
  'MX',
  'Dx',
  'T1000',
  'C0',
  'T-1',
  'h',
  'l',
  longOpaque,
);
const flagList = (flag: fc.Arbitrary<string>, k: string, withCas: boolean) =>
  fc
    .tuple(fc.array(flag, { maxLength: 5 }), fc.boolean())
    .map(([fs, cas]) => [...fs, ...(withCas && cas ? [`C{cas:${k}}`] : [])].join(' '));

/**
 * Base64 keys: k0, k1, invalid ones, and keys no text line can carry — "a b", "k\r\n", "\0k",
 * "café", bytes that are not UTF-8, "kK " — which `k` must echo base64-encoded.
 */
const safeBase64Keys = ['azA=', 'azE=', '!!!!', 'a', 'Y2Fmw6k=', '//4='];
const base64Key = fc.constantFrom(...safeBase64Keys, 'YSBi', 'aw0K', 'AGs=', 'a0sg');
/**
 * Where memcached creates an item from a `b` key without flagging it binary (mg N, ma N, an ma
 * that lengthens the number), it echoes the key raw even when that breaks the reply line; dcache
 * echoes such keys base64 (a deliberate difference), so those commands use keys safe raw.
 */
const lineSafeBase64Key = fc.constantFrom(...safeBase64Keys);

const meta = fc.oneof(
  fc
    .tuple(anyKey, fc.array(mgFlag, { maxLength: 6 }))
    .map(([k, fs]) => `mg ${k} ${fs.join(' ')}\r\n`),
  key.chain((k) =>
    fc
      .tuple(flagList(msFlag, k, true), value, fc.constantFrom('ok', 'ok', 'ok', 'badchunk'))
      // A documented difference (MEMCACHED.md, Stats): an item written already expired is gone
      // at once on the node, so its `c` answers 0 where memcached's names the unlinked item's CAS.
      .filter(([fs]) => !(/(^| )T-1( |$)/.test(fs) && /(^| )c( |$)/.test(fs)))
      .map(
        ([fs, v, shape]) =>
          `ms ${k} ${Buffer.byteLength(v)} ${fs}\r\n${v}${shape === 'ok' ? '\r\n' : 'ab\r\n'}`,
      ),
  ),
  // A stale write: `I` with a CAS older than the item's stores the value, keeping the item's TTL,
  // marking it stale and keeping a win token already handed out.
  key.chain((k) =>
    fc
      .tuple(fc.array(msFlag, { maxLength: 3 }), value)
      .map(
        ([fs, v]) => `ms ${k} ${Buffer.byteLength(v)} I C{oldcas:${k}} ${fs.join(' ')}\r\n${v}\r\n`,
      ),
  ),
  key.chain((k) => flagList(mdFlag, k, true).map((fs) => `md ${k} ${fs}\r\n`)),
  key.chain((k) => flagList(maFlag, k, true).map((fs) => `ma ${k} ${fs}\r\n`)),
  fc
    .tuple(base64Key, fc.constantFrom('v k', 'k c', 'v', 'k h l s', 'k u', 'k t f'))
    .map(([k, fs]) => `mg ${k} b ${fs}\r\n`),
  lineSafeBase64Key.map((k) => `mg ${k} b k N1000 v\r\n`),
  fc.tuple(base64Key, value).map(([k, v]) => `ms ${k} ${Buffer.byteLength(v)} b k c\r\n${v}\r\n`),
  fc
    .tuple(base64Key, fc.constantFrom('k', 'k q', 'k I', 'k C1'))
    .map(([k, fs]) => `md ${k} b ${fs}\r\n`),
  fc
    .tuple(lineSafeBase64Key, fc.constantFrom('k v', 'k N1000 J9 v', 'k D100 v', 'k MD'))
    .map(([k, fs]) => `ma ${k} b ${fs}\r\n`),
);

/**
 * Read tracking and win tokens, as steps sent one at a time: h/l/u around reads from every command
 * that reads, and the stale (md I), recache (R) and vivify (N) tokens handed out once, then Z. One
 * at a time because memcached changes an item in place (keeping its `h`) only when no reply still
 * holds it, which within one write depends on its reference counts.
 */
const readsAndTokens = key.chain((k) =>
  fc.constantFrom<string[]>(
    [
      `ms ${k} 1 T1000\r\nx\r\n`,
      `md ${k} I\r\n`,
      `mg ${k} v c h\r\n`,
      `mg ${k} v c h\r\n`,
      `mg ${k} h u\r\n`,
    ],
    [
      `md ${k} I\r\n`,
      `mg ${k} h l\r\n`,
      `mg ${k} h l t\r\n`,
      `ms ${k} 1 I\r\ny\r\n`,
      `mg ${k} h\r\n`,
    ],
    [`mg ${k} N1000 v h l\r\n`, `mg ${k} N1000 h l\r\n`, `mg ${k} h\r\n`],
    [`ms ${k} 1 T100\r\nx\r\n`, `mg ${k} R2000 h\r\n`, `mg ${k} R2000 h\r\n`, `mg ${k} h t\r\n`],
    [
      `set ${k} 0 0 1\r\nx\r\n`,
      `mg ${k} h u\r\n`,
      `mg ${k} h u T1000\r\n`,
      `mg ${k} h l\r\n`,
      `mg ${k} h\r\n`,
    ],
    [`set ${k} 0 0 1\r\nx\r\n`, `get ${k}\r\n`, `mg ${k} h\r\n`],
    [`set ${k} 0 0 1\r\nx\r\n`, `touch ${k} 1000\r\n`, `mg ${k} h l\r\n`],
    [`set ${k} 0 0 1\r\nx\r\n`, `gats 1000 ${k}\r\n`, `mg ${k} h\r\n`],
    [
      `set ${k} 0 0 2\r\n10\r\n`,
      `mg ${k}\r\n`,
      `incr ${k} 1\r\n`,
      `mg ${k} h\r\n`,
      `incr ${k} 100\r\n`,
      `mg ${k} h\r\n`,
    ],
    [
      `set ${k} 0 0 1\r\n5\r\n`,
      `mg ${k}\r\n`,
      `ma ${k}\r\n`,
      `mg ${k} h\r\n`,
      `ma ${k} D10\r\n`,
      `mg ${k} h\r\n`,
    ],
    [`ma ${k} N1000 J3 h\r\n`, `mg ${k} h l\r\n`, `mg ${k} h\r\n`],
    // Stale writes: the old TTL stays whatever T says, the item turns stale, a token sent stays sent.
    [
      `ms ${k} 1 T1000\r\nw\r\n`,
      `mg ${k} c\r\n`,
      `ms ${k} 1 T1000\r\nx\r\n`,
      `md ${k} I\r\n`,
      `mg ${k} t v\r\n`,
      `ms ${k} 1 I T-1 C{cas:${k}}\r\nz\r\n`,
      `mg ${k} t v\r\n`,
      `mg ${k} h t\r\n`,
    ],
    [
      `ms ${k} 1\r\nw\r\n`,
      `mg ${k} c\r\n`,
      `ms ${k} 1\r\nx\r\n`,
      `ms ${k} 1 I T1000 C{cas:${k}}\r\nz\r\n`,
      `mg ${k} t v\r\n`,
      `mg ${k} t\r\n`,
    ],
    [
      `ms ${k} 1 T100\r\nw\r\n`,
      `mg ${k} c\r\n`,
      `ms ${k} 1 T100\r\nx\r\n`,
      `mg ${k} R2000\r\n`,
      `ms ${k} 1 I C{oldcas:${k}}\r\nz\r\n`,
      `mg ${k} t v R2000\r\n`,
    ],
    // An incr/decr/ma that fits changes the item in place: it stays stale, its token stays sent
    // (unless memcached's LRU still holds the item: the differential test's TokenDoubt).
    [
      `set ${k} 0 0 2\r\n10\r\n`,
      `md ${k} I\r\n`,
      `mg ${k} v\r\n`,
      `incr ${k} 1\r\n`,
      `mg ${k} v\r\n`,
      `decr ${k} 5\r\n`,
      `ma ${k}\r\n`,
      `mg ${k} t\r\n`,
      `incr ${k} 1000\r\n`,
      `mg ${k}\r\n`,
    ],
    [
      `set ${k} 0 1000 2\r\n10\r\n`,
      `mg ${k} R2000\r\n`,
      `ma ${k}\r\n`,
      `mg ${k} R2000 v\r\n`,
      `incr ${k} 1\r\n`,
      `mg ${k} R2000\r\n`,
    ],
    [`set ${k} 0 0 1\r\nx\r\n`, `mg ${k}\r\n`, `append ${k} 0 0 1\r\ny\r\n`, `mg ${k} h\r\n`],
    [
      `set ${k} 0 0 1\r\nx\r\n`,
      `mg ${k}\r\n`,
      `md ${k} I T1000\r\n`,
      `mg ${k} h\r\n`,
      `mg ${k} h\r\n`,
    ],
  ),
);

const edge = fc.oneof(
  // More than memcached's 24 tokens: get handles them all, other commands see an ERROR.
  fc.array(key, { minLength: 20, maxLength: 40 }).map((keys) => `get ${keys.join(' ')}\r\n`),
  fc.array(key, { minLength: 20, maxLength: 30 }).map((keys) => `delete ${keys.join(' ')}\r\n`),
  fc
    .array(fc.constantFrom('v', 'k', 'O1', 'c'), { minLength: 18, maxLength: 24 })
    .map((fs) => `mg k0 ${fs.join(' ')}\r\n`),
  fc.constantFrom(
    'set k0 0 0 1 a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n',
    'get k0\u0000k1\r\n',
    'get k0\rk1\r\n',
    'get k0\r\r\n',
    'set k1 0 0 2\r\r\nab\r\n',
    `set k2 0 0 2000000\r\n${'z'.repeat(2_000_000)}\r\nget k2\r\n`,
    `ms k2 2000000 T0\r\n${'z'.repeat(2_000_000)}\r\nmg k2 v\r\n`,
    `ms ${'y'.repeat(251)} 2\r\nab\r\n`,
    'ms !!!! 2 b\r\nab\r\n',
    'ms /w== 2 b k\r\nab\r\nmg /w== b k v\r\nmd /w== b k q\r\nmg /w== b v\r\n',
    `ms k0 1 ${Array.from({ length: 20 }, () => 'k').join(' ')}\r\nx\r\n`,
    `md k0 ${Array.from({ length: 20 }, (_, i) => `O${i}`).join(' ')}\r\n`,
    `ma k0 ${Array.from({ length: 20 }, (_, i) => `O${i}`).join(' ')}\r\n`,
    'cas k0 0 0 1 x noreply\r\nz\r\n',
    'ms k1 2 T0\r\r\nab\r\n',
  ),
);

const singleWith = (get: fc.Arbitrary<string>, http: fc.Arbitrary<string>[]) =>
  fc.oneof(
    { weight: 5, arbitrary: storage },
    { weight: 4, arbitrary: get },
    { weight: 4, arbitrary: simple },
    { weight: 2, arbitrary: garbage },
    { weight: 5, arbitrary: meta },
    { weight: 1, arbitrary: edge },
    ...http.map((arbitrary) => ({ weight: 1, arbitrary })),
  );
const single = singleWith(retrieval, [httpLike]);
/**
 * memcached answers a get with an over-long key by also dropping the replies it still holds for
 * earlier pipelined commands (conn_release_items); dcache replaces only that get's reply. So in
 * pipelined batches, gets use valid keys only (see MEMCACHED.md, deliberate differences). Nor do
 * batches hold HTTP lines: a hang-up drops the replies of the same read, and a batch with a 2 MB
 * value is read in pieces that fall differently on the two servers.
 */
const pipelinable = singleWith(retrievalOf(key), []);

/**
 * One command, or several pipelined in one write. In a write, `h` flags are dropped: whether
 * memcached changes an item in place there (keeping its `h`) depends on its reference counts.
 */
const command = fc.oneof(
  { weight: 4, arbitrary: single },
  {
    weight: 1,
    arbitrary: fc
      .array(pipelinable, { minLength: 2, maxLength: 5 })
      .map((cs) => cs.join('').replace(/ h[a-z0-9]*(?=[ \r\n])/g, '')),
  },
);

/** A random session: each element is sent as one write, after the previous one's replies came. */
export const session = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: command.map((c) => [c]) },
      { weight: 1, arbitrary: readsAndTokens },
    ),
    { minLength: 1, maxLength: 40 },
  )
  .map((steps) => steps.flat());
