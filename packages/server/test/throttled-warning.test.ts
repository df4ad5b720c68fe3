import { afterEach, expect, it, vi } from 'vitest';
import type { Logger } from '../src/observability/logger.js';
import { throttledWarning } from '../src/observability/throttled-warning.js';

afterEach(() => {
  vi.useRealTimers();
});

function recorded() {
  const lines: string[] = [];
  const logger = {
    warn: (_event: string, msg: string) => void lines.push(msg),
  } as unknown as Logger;
  const warn = throttledWarning(
    logger,
    'unvouched_reads',
    (count, latest) => `${count} (latest ${latest})`,
    () => Date.now(),
    10_000,
  );
  return { lines, warn };
}

it('logs the first event at once, and the rest of a burst when the interval ends, with no later event', () => {
  vi.useFakeTimers();
  const { lines, warn } = recorded();
  warn('a');
  expect(lines).toEqual(['1 (latest a)']);
  vi.advanceTimersByTime(1000);
  warn('b');
  warn('c');
  warn('d');
  expect(lines).toHaveLength(1);
  vi.advanceTimersByTime(8999);
  expect(lines).toHaveLength(1);
  vi.advanceTimersByTime(1);
  expect(lines).toEqual(['1 (latest a)', '3 (latest d)']);
  // Nothing held back: nothing more.
  vi.advanceTimersByTime(60_000);
  expect(lines).toHaveLength(2);
});

it('an event after a quiet interval is logged at once, and a burst after it is held to the next interval', () => {
  vi.useFakeTimers();
  const { lines, warn } = recorded();
  warn('a');
  vi.advanceTimersByTime(30_000);
  warn('b');
  expect(lines).toEqual(['1 (latest a)', '1 (latest b)']);
  warn('c');
  vi.advanceTimersByTime(5000);
  warn('d');
  vi.advanceTimersByTime(5000);
  expect(lines).toEqual(['1 (latest a)', '1 (latest b)', '2 (latest d)']);
});
