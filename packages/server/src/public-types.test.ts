import { describe, expectTypeOf, it } from 'vitest';
import type {
  LogFormat,
  LogLevel,
  MemcachedCache,
  MemcachedListenerOptions,
  ServerOptions,
} from './index.js';

// Type-level: every type a documented option is declared with can be named from the package (the
// `cache` an embedded memcached listener requires, the log format beside the log level).
describe('public types', () => {
  it('names the log options’ types', () => {
    expectTypeOf<ServerOptions['logLevel']>().toEqualTypeOf<LogLevel | undefined>();
    expectTypeOf<ServerOptions['logFormat']>().toEqualTypeOf<LogFormat | undefined>();
  });

  it('names the type of the memcached listener’s cache', () => {
    expectTypeOf<MemcachedListenerOptions['cache']>().toEqualTypeOf<MemcachedCache>();
  });
});
