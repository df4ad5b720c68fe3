/**
 * Options for `vi.waitFor` and `expect.poll` on something that will happen: a deadline to fail
 * by, never a speed. Vitest's default of 1 s is one: on a loaded CI box the test worker (and an
 * in-process node, which shares its event loop) goes without CPU for longer — a 1 MiB body took
 * over a second to reach an in-process node beside busy loops.
 */
export const EVENTUALLY = { timeout: 10_000, interval: 50 } as const;
