import type { LogEvent, Logger } from './logger.js';

/** How often at most one kind of warning is logged: never silent, never a flood. */
export const WARNING_INTERVAL_MS = 10_000;

/**
 * A warning for events that may come in floods (every read during a fault): the first is logged
 * at once, the rest at most once per `intervalMs`, each line saying how many it stands for.
 * `message(count, latest)` words it, `latest` being the last event's detail (a key). Events held
 * back are logged when the interval ends, even if no other event comes: the end of a burst is
 * never left unsaid (unless the process exits first; the counters have them).
 */
export function throttledWarning(
  logger: Logger,
  event: LogEvent,
  message: (count: number, latest: string) => string,
  now: () => number = () => performance.now(),
  intervalMs = WARNING_INTERVAL_MS,
): (latest: string) => void {
  let lastLogged = -Infinity;
  let sinceLogged = 0;
  let latestDetail = '';
  let trailing: NodeJS.Timeout | undefined;
  const log = (): void => {
    trailing = undefined;
    if (sinceLogged === 0) return;
    logger.warn(event, message(sinceLogged, latestDetail));
    lastLogged = now();
    sinceLogged = 0;
  };
  return (latest) => {
    sinceLogged++;
    latestDetail = latest;
    const at = now();
    if (at - lastLogged >= intervalMs) {
      clearTimeout(trailing);
      log();
      return;
    }
    // Unref'd: a pending warning must not keep a stopping node alive.
    trailing ??= setTimeout(log, lastLogged + intervalMs - at).unref();
  };
}
