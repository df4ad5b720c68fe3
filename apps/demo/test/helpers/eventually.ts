/**
 * Options for `expect.poll` and `vi.waitFor` on something that will happen: a deadline to fail by,
 * never a speed. Vitest's default of 1 s is one: on a loaded CI box a process can take longer to
 * start, to exit or to answer (a node's /v1/stats answer took over 1 s beside busy loops).
 */
export const EVENTUALLY = { timeout: 10_000, interval: 50 } as const;
