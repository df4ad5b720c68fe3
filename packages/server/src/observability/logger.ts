import type { LogFormat, LogLevel } from '../options.js';

/**
 * What a log line reports, as a stable machine name: the `event` field of JSON logs. Alerts and
 * dashboards match on these, so a name, once shipped, keeps its meaning.
 */
export type LogEvent =
  | 'listening'
  | 'listen_failed'
  | 'shutdown'
  | 'sighup_ignored'
  | 'fatal'
  | 'tombstone_grace_short'
  | 'memcached_no_auth'
  | 'memcached_exposed'
  | 'http_no_token'
  | 'request_refused'
  | 'accept_failed'
  | 'tls_client_error'
  | 'request_error'
  | 'snapshot_loaded'
  | 'snapshot_missing'
  | 'snapshot_invalid'
  | 'snapshot_leftovers_removed'
  | 'snapshot_saved'
  | 'snapshot_save_failed'
  | 'version_fence_invalid'
  | 'version_fence_write_failed'
  | 'fenced'
  | 'stalled'
  | 'tombstone_evicted_early'
  | 'unvouched_reads'
  | 'hints_overflowed'
  | 'hint_fence_forgotten'
  | 'hints_replayed'
  | 'hint_replay_failed'
  | 'hint_replay_refused';

/** Fields a line may carry besides the five every line has (`time level node event msg`). */
export interface LogFields {
  /** The request's `X-Request-Id` header, when it sent a usable one. */
  requestId?: string;
  /** The HTTP status answered. */
  status?: number;
  method?: string;
  path?: string;
  /** The HTTP API's base URL (`listening`). */
  url?: string;
  /** `host:port` of the memcached port (`listening`, when it is on). */
  memcached?: string;
  /** The dcache version (`listening`). */
  version?: string;
  /** The signal that stopped the node (`shutdown`). */
  signal?: string;
  /** The snapshot (or version fence) file. */
  file?: string;
  /** Entries loaded or saved. */
  entries?: number;
  /** Bytes written. */
  bytes?: number;
}

export interface Logger {
  error(event: LogEvent, message: string, fields?: LogFields): void;
  warn(event: LogEvent, message: string, fields?: LogFields): void;
  info(event: LogEvent, message: string, fields?: LogFields): void;
  debug(event: LogEvent, message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level: LogLevel;
  /** @default "plain" */
  format?: LogFormat;
  /** The node id every JSON line carries. */
  node: string;
  /** @default a write to process.stderr */
  write?: (line: string) => void;
}

type Level = Exclude<LogLevel, 'silent'>;

const RANK: Readonly<Record<LogLevel, number>> = {
  silent: 0,
  error: 1,
  warn: 2,
  info: 3,
  debug: 4,
};

/** One JSON log line (with its newline): the documented fields first, in a fixed order. */
export function jsonLine(
  level: Level,
  node: string,
  event: LogEvent,
  message: string,
  fields?: LogFields,
): string {
  return `${JSON.stringify({ time: new Date().toISOString(), level, node, event, msg: message, ...fields })}\n`;
}

/** Control characters but tab; a message with none is written as is. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;

/**
 * A message as plain lines may carry it. Messages hold text clients chose (a request path, which
 * hono percent-decodes): a newline in it is indented, so that it can never start a line that reads
 * as the node's own, and other control characters (a terminal's escapes) are written as `\xNN`.
 * A stack keeps its lines, indented.
 */
function plainText(message: string): string {
  return message.replace(CONTROL, (c) =>
    c === '\n' ? '\n  ' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** The human line, as the node always wrote it; a request id is appended so it can be grepped. */
function plainLine(level: Level, message: string, fields?: LogFields): string {
  const request = fields?.requestId === undefined ? '' : ` (request ${fields.requestId})`;
  return `${new Date().toISOString()} ${level} ${plainText(message)}${request}\n`;
}

/** A line-per-message logger to stderr; levels above `level` cost one comparison. */
export function createLogger({
  level,
  format = 'plain',
  node,
  write = (line) => process.stderr.write(line),
}: LoggerOptions): Logger {
  const rank = RANK[level];
  const at =
    (name: Level) =>
    (event: LogEvent, message: string, fields?: LogFields): void => {
      if (RANK[name] > rank) return;
      write(
        format === 'json'
          ? jsonLine(name, node, event, message, fields)
          : plainLine(name, message, fields),
      );
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** Printable ASCII without spaces, as ids from proxies and tracers are; anything else is dropped. */
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The `requestId` field of a request's `X-Request-Id` header. Read only when a line is written,
 * so requests that log nothing pay nothing; a value that could forge or bloat a line is left out.
 */
export function requestIdFields(header: string | string[] | undefined): LogFields | undefined {
  return typeof header === 'string' && REQUEST_ID.test(header) ? { requestId: header } : undefined;
}
