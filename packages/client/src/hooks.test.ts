import { afterEach, describe, expect, it, vi } from 'vitest';
import { HOOK_ERROR_WARNING, callHook } from './hooks.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Captures process warnings instead of printing them. */
function captureWarnings() {
  return vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
}

/** A rejection is handled on a later microtask turn. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('callHook', () => {
  it('calls the hook with its arguments; an absent hook is a no-op', () => {
    const calls: unknown[][] = [];
    const error = new Error('x');
    callHook('onNodeDown', (...args: unknown[]) => calls.push(args), 'http://a:1', error);
    callHook('onNodeUp', undefined, 'http://a:1');
    expect(calls).toStrictEqual([['http://a:1', error]]);
  });

  it('turns a hook that throws into a process warning instead of an exception', () => {
    const warn = captureWarnings();
    const throwing = (_node: string): never => {
      throw new Error('logger broke');
    };
    expect(() => callHook('onNodeUp', throwing, 'http://a:1')).not.toThrow();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/"onNodeUp" threw/), {
      code: HOOK_ERROR_WARNING,
      detail: expect.stringMatching(/logger broke/),
    });
  });

  it('turns an async hook that rejects into a warning, not an unhandled rejection', async () => {
    const warn = captureWarnings();
    const rejecting = (_node: string): Promise<void> =>
      Promise.reject(new Error('async logger broke'));
    callHook('onNodeUp', rejecting, 'http://a:1');
    // An unhandled rejection would fail this test run (vitest reports it as an error).
    await nextTurn();
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/"onNodeUp" threw/), {
      code: HOOK_ERROR_WARNING,
      detail: expect.stringMatching(/async logger broke/),
    });
  });
});
