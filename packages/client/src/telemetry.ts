// OpenTelemetry, as an optional peer: the client works without @opentelemetry/api installed, and
// with it installed but no SDK registered (the default) each call costs one check.
import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { Tracer, TracerProvider } from '@opentelemetry/api';

export type OtelApiModule = typeof OtelApi;

const require = createRequire(import.meta.url);

/**
 * The peer as the application installed it, or undefined. An optional peer that is absent cannot
 * be imported statically (the import would fail at load), so it is required once, here. The API
 * keeps its state on a global, so this copy sees an SDK the application registered through its own.
 */
export function loadOtelApi(load: (id: string) => unknown = require): OtelApiModule | undefined {
  try {
    return load('@opentelemetry/api') as OtelApiModule;
  } catch {
    return undefined;
  }
}

/** The package's tracer, asked for only while an SDK is registered. */
export class Tracing {
  readonly api: OtelApiModule;
  readonly #name: string;
  readonly #version: string;
  /** What the API's global provider delegates to before any SDK is registered. */
  readonly #noop: TracerProvider;
  #provider: TracerProvider | undefined;
  #tracer: Tracer | undefined;

  constructor(api: OtelApiModule, name: string, version: string) {
    this.api = api;
    this.#name = name;
    this.#version = version;
    this.#noop = new api.ProxyTracerProvider().getDelegate();
  }

  /**
   * The tracer of the registered SDK, or undefined when there is none: then no span, attribute or
   * closure is made. Checked per call, since an application may register its SDK after it made
   * the client. A provider of another copy of the API is taken as registered; its spans then say
   * themselves whether they record.
   */
  tracer(): Tracer | undefined {
    const global = this.api.trace.getTracerProvider() as Partial<OtelApi.ProxyTracerProvider>;
    const provider =
      typeof global.getDelegate === 'function' ? global.getDelegate() : (global as TracerProvider);
    if (provider === this.#noop) return undefined;
    if (provider !== this.#provider) {
      this.#provider = provider;
      this.#tracer = provider.getTracer(this.#name, this.#version);
    }
    return this.#tracer;
  }
}

const api = loadOtelApi();
const { version } = require('../package.json') as { version: string };

/** The client's tracing; undefined when @opentelemetry/api is not installed. */
export const tracing: Tracing | undefined =
  api === undefined ? undefined : new Tracing(api, '@dcache/client', version);
