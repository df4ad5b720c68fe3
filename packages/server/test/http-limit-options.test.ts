import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli-args.js';
import { connectionsFitting, openFileLimit, RESERVED_FDS } from '../src/fd-limit.js';
import { resolveOptions } from '../src/options.js';

const MiB = 1024 ** 2;

describe('the HTTP limits options', () => {
  it('default to a 64 MiB body budget and 10 s / 30 s / 5 s timeouts', () => {
    expect(resolveOptions({})).toMatchObject({
      maxInflightBodyBytes: 64 * MiB,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
    });
  });

  it('raise the default budget to the largest batch or value, so one always fits', () => {
    expect(resolveOptions({ maxBatchBytes: '100mb' }).maxInflightBodyBytes).toBe(100 * MiB);
    expect(resolveOptions({ maxValueBytes: '80mb' }).maxInflightBodyBytes).toBe(80 * MiB);
    expect(resolveOptions({ headersTimeout: 40_000 }).requestTimeout).toBe(40_000);
  });

  it.each<[Record<string, unknown>, RegExp]>([
    [{ maxInflightBodyBytes: '8mb' }, /maxInflightBodyBytes must be at least maxBatchBytes/],
    [{ maxInflightBodyBytes: 'lots' }, /maxInflightBodyBytes/],
    [{ headersTimeout: 0 }, /headersTimeout must be a whole number ≥ 1, got 0/],
    [{ requestTimeout: 1.5 }, /requestTimeout must be a whole number/],
    [
      { headersTimeout: 5000, requestTimeout: 1000 },
      /requestTimeout must be at least headersTimeout/,
    ],
    [{ keepAliveTimeout: -1 }, /keepAliveTimeout must be a whole number ≥ 1, got -1/],
    [{ maxConnections: 0 }, /maxConnections must be a whole number ≥ 1, got 0/],
  ])('refuse %j, naming the option and the value', (options, pattern) => {
    expect(() => resolveOptions(options as never)).toThrow(pattern);
  });

  // Node fires a timer set past 2^31 − 1 ms after 1 ms: a node started with
  // --headers-timeout 3000000000 --request-timeout 3000000000 answered every request 408.
  it.each(['headersTimeout', 'requestTimeout', 'keepAliveTimeout', 'idleTimeout', 'closeTimeout'])(
    'refuse a %s longer than a Node timer can wait',
    (name) => {
      const longest = 2 ** 31 - 1;
      const pair = name === 'requestTimeout' ? { headersTimeout: 1000 } : {};
      expect(resolveOptions({ ...pair, [name]: longest })).toMatchObject({ [name]: longest });
      expect(() =>
        resolveOptions({ requestTimeout: longest, [name]: 3_000_000_000 } as never),
      ).toThrow(new RegExp(`${name} must be at most ${longest} ms.*got 3000000000`));
    },
  );

  it('refuse a hint replay interval past a Node timer, which would replay every millisecond', () => {
    expect(resolveOptions({ hintReplayInterval: 2 ** 31 - 1 }).hintReplayInterval).toBe(
      2 ** 31 - 1,
    );
    expect(() => resolveOptions({ hintReplayInterval: 2 ** 31 })).toThrow(
      /hintReplayInterval must be a whole number of ms from 1 to 2147483647/,
    );
  });

  it('name maxHints a count, not a duration', () => {
    expect(() => resolveOptions({ maxHints: -1 })).toThrow(
      /^maxHints must be a whole number ≥ 0, got -1$/,
    );
  });

  it('refuse a timeout flag past a Node timer, naming the flag', () => {
    expect(() =>
      parseCli(['--headers-timeout', '3000000000', '--request-timeout', '3000000000'], {}),
    ).toThrow(/^--headers-timeout .*2147483647/);
    expect(() => parseCli([], { DCACHE_IDLE_TIMEOUT: '3000000000' })).toThrow(
      /^DCACHE_IDLE_TIMEOUT .*2147483647/,
    );
  });

  it('are set by flags and DCACHE_* variables', () => {
    const cli = parseCli(
      [
        '--max-inflight-body-bytes',
        '128mb',
        '--headers-timeout',
        '2000',
        '--max-connections',
        '50',
      ],
      { DCACHE_REQUEST_TIMEOUT: '9000', DCACHE_KEEP_ALIVE_TIMEOUT: '1000' },
    );
    expect(cli).toMatchObject({
      options: {
        maxInflightBodyBytes: 128 * MiB,
        headersTimeout: 2000,
        requestTimeout: 9000,
        keepAliveTimeout: 1000,
        maxConnections: 50,
      },
    });
  });

  it('name the flag that breaks a rule between two options', () => {
    expect(() => parseCli(['--headers-timeout', '5000', '--request-timeout', '100'])).toThrow(
      /^--request-timeout: requestTimeout must be at least headersTimeout/,
    );
    expect(() => parseCli(['--max-inflight-body-bytes', '1mb'])).toThrow(
      /^--max-inflight-body-bytes: /,
    );
  });
});

describe('maxConnections fitted to the open-file limit', () => {
  it('reads the soft limit of this process', () => {
    const limit = openFileLimit();
    expect(limit === undefined || (Number.isSafeInteger(limit) && limit > 0)).toBe(true);
  });

  it.each<[number | undefined, number, number]>([
    [undefined, 1, 1024],
    [1_048_576, 2, 1024],
    [1024, 1, 1024 - RESERVED_FDS],
    [1024, 2, (1024 - RESERVED_FDS) / 2],
    [256, 1, 256 - RESERVED_FDS],
    [256, 2, (256 - RESERVED_FDS) / 2],
    [64, 1, 1],
  ])('with a limit of %s and %i door(s): %i per door', (limit, doors, expected) => {
    expect(connectionsFitting(limit, doors)).toBe(expected);
  });

  it('defaults to that, shared with the memcached port when it is on', () => {
    const http = resolveOptions({}).maxConnections;
    const both = resolveOptions({ memcachedPort: 0 }).maxConnections;
    expect(http).toBe(connectionsFitting(openFileLimit(), 1));
    expect(both).toBe(connectionsFitting(openFileLimit(), 2));
  });
});
