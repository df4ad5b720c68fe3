import type { LogEvent, Logger } from './logger.js';

/** How often at most one kind of warning is logged: never silent, never a flood. */
export const WARNING_INTERVAL_MS = 10_000;

/**
 * A warning for events that may come in floods (every read during a fault): the first is logged
 * at once, the rest at most once per `intervalMs`, each line saying how many it stands for.
 * `message(count, latest)` words it, `latest` being the last event's detail (a key).
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
  return (latest) => {
    sinceLogged++;
    const at = now();
    if (at - lastLogged < intervalMs) return;
    logger.warn(event, message(sinceLogged, latest));
    lastLogged = at;
    sinceLogged = 0;
  };
}
