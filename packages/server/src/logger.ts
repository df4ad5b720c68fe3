import type { LogLevel } from './options.js';

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

const RANK: Readonly<Record<LogLevel, number>> = {
  silent: 0,
  error: 1,
  warn: 2,
  info: 3,
  debug: 4,
};

/** A line-per-message logger to stderr; levels above `level` cost one comparison. */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const rank = RANK[level];
  const at =
    (name: Exclude<LogLevel, 'silent'>) =>
    (message: string): void => {
      if (RANK[name] <= rank) write(`${new Date().toISOString()} ${name} ${message}\n`);
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}
