// OpenTelemetry, as an optional peer: the node runs without @opentelemetry/api installed, and with
// it installed but no SDK registered (the default) a request costs one check.
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Tracer, TracerProvider } from '@opentelemetry/api';
import { VERSION } from '../version.js';

export type OtelApiModule = typeof OtelApi;

/** The name the node's tracer and meter carry (the instrumentation scope). */
export const SCOPE = '@dcache/server';

/**
 * The peer as the application installed it, or undefined. An optional peer that is absent cannot
 * be imported statically (the import would fail at load), so it is required once, here. The API
 * keeps its state on a global, so this copy sees an SDK the application registered through its own.
 */
export function loadOtelApi(
  load: (id: string) => unknown = createRequire(import.meta.url),
): OtelApiModule | undefined {
  try {
    return load('@opentelemetry/api') as OtelApiModule;
  } catch {
    return undefined;
  }
}

/** The node's tracer, asked for only while an SDK is registered. */
export class Tracing {
  readonly api: OtelApiModule;
  /** What the API's global provider delegates to before any SDK is registered. */
  readonly #noop: TracerProvider;
  #provider: TracerProvider | undefined;
  #tracer: Tracer | undefined;

  constructor(api: OtelApiModule) {
    this.api = api;
    this.#noop = new api.ProxyTracerProvider().getDelegate();
  }

  /**
   * The tracer of the registered SDK, or undefined when there is none: then no span is made.
   * Checked per request, since an SDK may be registered after the node started. A provider of
   * another copy of the API is taken as registered; its spans then say whether they record.
   */
  tracer(): Tracer | undefined {
    const global = this.api.trace.getTracerProvider() as Partial<OtelApi.ProxyTracerProvider>;
    const provider =
      typeof global.getDelegate === 'function' ? global.getDelegate() : (global as TracerProvider);
    if (provider === this.#noop) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = provider.getTracer(SCOPE, VERSION);
    }
    return this.#tracer;
  }
}

/** The peer, or undefined when it is not installed. */
export const otelApi: OtelApiModule | undefined = loadOtelApi();

/** The node's tracing; undefined when @opentelemetry/api is not installed. */
export const tracing: Tracing | undefined =
  otelApi === undefined ? undefined : new Tracing(otelApi);
