// Flags override environment variables, switches too: a switch its variable turned on is turned
// off by `--no-<switch>` (a switch flag takes no value, so `--trust-snapshot=false` cannot say it).
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/cli-args.js';
import type { ServerOptions } from '../src/options.js';

const optionsOf = (argv: string[], env: NodeJS.ProcessEnv): ServerOptions => {
  const command = parseCli(argv, env);
  if (command.command !== 'run') throw new Error(`${argv.join(' ')}: ${command.command}`);
  return command.options;
};

describe('a switch', () => {
  it('is on from its variable, and off again with --no-<switch>', () => {
    const env = { DCACHE_TRUST_SNAPSHOT: '1' };
    expect(optionsOf([], env).trustSnapshot).toBe(true);
    expect(optionsOf(['--no-trust-snapshot'], env).trustSnapshot).toBe(false);
  });

  it('--no-<switch> without the variable is the default, off', () => {
    expect(optionsOf(['--no-trust-snapshot'], {}).trustSnapshot).toBe(false);
  });

  it('is refused with a value, and --no- of a flag that takes one is refused', () => {
    expect(() => parseCli(['--trust-snapshot=false'], {})).toThrow(/--trust-snapshot/);
    expect(() => parseCli(['--no-port'], {})).toThrow(/--no-port/);
  });
});
