// A flag that takes a whole number but not every one from 0 (--max-items, --max-batch-ops and
// --max-key-bytes take ≥ 1, --restore-claim-lease 300 to 3600000) must not be refused, when its
// value is not a number at all, with a message naming a range that the same flag then refuses.
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli-args.js';

const refusal = (argv: string[]): string => {
  try {
    parseCli(argv, {});
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
};

describe('a non-numeric value for a flag whose range does not start at 0', () => {
  it.each(['--max-items', '--max-batch-ops', '--max-key-bytes', '--restore-claim-lease'])(
    '%s abc names no range from 0, since the flag refuses 0',
    (flag) => {
      expect(refusal([flag, '0'])).toContain(flag);
      expect(refusal([flag, 'abc'])).not.toMatch(/from 0 to/);
    },
  );

  it.each(['--idle-timeout', '--headers-timeout', '--request-timeout', '--keep-alive-timeout'])(
    '%s abc names the ceiling of a Node timer (2^31 − 1 ms), not 2^53 − 1, which it refuses',
    (flag) => {
      expect(refusal([flag, 'abc'])).toContain('no larger than 2147483647');
      expect(refusal([flag, '2147483648'])).toContain('no larger than 2147483647');
    },
  );
});
