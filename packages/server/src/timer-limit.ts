/**
 * The longest delay a Node timer keeps, in ms (about 24.8 days): one set longer fires after 1 ms,
 * so a timeout option past it would cut every request or connection at once.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
