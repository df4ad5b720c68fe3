import { describe, expectTypeOf, it } from 'vitest';
import type { ClientOptions, PemInput, TlsOptions } from './index.js';

// Type-level: every type a documented option is declared with can be named from the package, so
// a user can build a `tls` object apart from the options (a shared config module) and type it.
describe('public types', () => {
  it('names the tls option’s types', () => {
    expectTypeOf<ClientOptions['tls']>().toEqualTypeOf<TlsOptions | undefined>();
    expectTypeOf<TlsOptions['ca']>().toEqualTypeOf<PemInput | undefined>();
  });
});
