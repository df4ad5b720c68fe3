import { describe, expect, it } from 'vitest';
import { diffMembers } from './discovery.js';
import { lookupMembers, MAX_MEMBERS } from './discovery-lookup.js';
import type { Member } from './discovery-lookup.js';
import { parseDiscoveryUrl } from './discovery-url.js';
import { DiscoveryError, isDiscoveryError } from './errors/discovery-error.js';
import { isDcacheError } from './errors/dcache-error.js';

const noData = (): Promise<never> =>
  Promise.reject(Object.assign(new Error('queryA ENODATA'), { code: 'ENODATA' }));

/** A resolver answering from tables; a missing name has no data. */
function resolver(tables: {
  srv?: Record<string, { name: string; port: number }[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
}) {
  const answer = <T>(table: Record<string, T[]> | undefined, name: string): Promise<T[]> =>
    table?.[name] === undefined ? noData() : Promise.resolve(table[name]);
  return {
    resolveSrv: (name: string) =>
      answer(tables.srv, name).then((records) =>
        records.map((record) => ({ ...record, priority: 0, weight: 0 })),
      ),
    resolve4: (name: string) => answer(tables.a, name),
    resolve6: (name: string) => answer(tables.aaaa, name),
  };
}

const SRV = parseDiscoveryUrl('dns+srv://_http._tcp.dcache.test');

describe('lookupMembers', () => {
  const records = [
    { name: 'dcache-1.dcache.test', port: 8001 },
    { name: 'DCACHE-0.dcache.test', port: 8001 },
    { name: 'dcache-2.dcache.test', port: 8002 },
  ];
  const a = {
    'dcache-0.dcache.test': ['127.0.0.2'],
    'DCACHE-0.dcache.test': ['127.0.0.2'],
    'dcache-1.dcache.test': ['127.0.0.9', '127.0.0.3'],
  };
  const aaaa = { 'dcache-2.dcache.test': ['::2'] };

  it('keys SRV targets by name and port, sorted, connecting to their lowest address', async () => {
    expect(
      await lookupMembers(resolver({ srv: { [SRV.name]: records }, a, aaaa }), SRV),
    ).toStrictEqual([
      {
        url: 'http://dcache-0.dcache.test:8001',
        host: 'dcache-0.dcache.test',
        address: '127.0.0.2',
        family: 4,
      },
      {
        url: 'http://dcache-1.dcache.test:8001',
        host: 'dcache-1.dcache.test',
        address: '127.0.0.3',
        family: 4,
      },
      {
        url: 'http://dcache-2.dcache.test:8002',
        host: 'dcache-2.dcache.test',
        address: '::2',
        family: 6,
      },
    ]);
  });

  it('does not depend on the order of the answer', async () => {
    const forward = await lookupMembers(resolver({ srv: { [SRV.name]: records }, a, aaaa }), SRV);
    const backward = await lookupMembers(
      resolver({ srv: { [SRV.name]: [...records].reverse() }, a, aaaa }),
      SRV,
    );
    expect(backward).toStrictEqual(forward);
  });

  it('takes A records, else AAAA, with the fixed port for dns:// and dnss://', async () => {
    const v4 = parseDiscoveryUrl('dnss://nodes.test:8443');
    expect(
      (await lookupMembers(resolver({ a: { 'nodes.test': ['127.0.0.5', '127.0.0.2'] } }), v4)).map(
        (m) => m.url,
      ),
    ).toStrictEqual(['https://127.0.0.2:8443', 'https://127.0.0.5:8443']);
    const v6 = parseDiscoveryUrl('dns://nodes.test:8001');
    expect(await lookupMembers(resolver({ aaaa: { 'nodes.test': ['::1'] } }), v6)).toStrictEqual([
      { url: 'http://[::1]:8001', host: '::1', address: '::1', family: 6 },
    ]);
  });

  it.each([
    ['no SRV record', resolver({}), 'ENODATA', true],
    [
      'an SRV target without addresses',
      resolver({ srv: { [SRV.name]: records }, a }),
      'ENODATA',
      true,
    ],
    [
      'a failing resolver',
      {
        ...resolver({}),
        resolveSrv: () => Promise.reject(Object.assign(new Error('x'), { code: 'ESERVFAIL' })),
      },
      'ESERVFAIL',
      false,
    ],
    [
      'a target whose A lookup times out',
      {
        ...resolver({ srv: { [SRV.name]: records }, a, aaaa }),
        resolve4: () => Promise.reject(Object.assign(new Error('x'), { code: 'ETIMEOUT' })),
      },
      'ETIMEOUT',
      false,
    ],
    [
      `more than ${MAX_MEMBERS} records`,
      resolver({
        srv: {
          [SRV.name]: Array.from({ length: MAX_MEMBERS + 1 }, (_, i) => ({
            name: `n${i}.test`,
            port: 1,
          })),
        },
      }),
      'ETOOMANY',
      false,
    ],
  ])('rejects with a DiscoveryError for %s', async (_name, lookup, code, empty) => {
    const error = await lookupMembers(lookup, SRV).catch((caught: unknown) => caught);
    expect(isDiscoveryError(error)).toBe(true);
    expect(error).toMatchObject({ code, empty, url: SRV.href });
  });
});

describe('diffMembers', () => {
  const member = (n: number, address = `127.0.0.${n}`): Member => ({
    url: `http://n${n}.test:1`,
    host: `n${n}.test`,
    address,
    family: 4,
  });

  it('names the members added, removed and moved to a new address', () => {
    const diff = diffMembers(
      [member(1), member(2), member(3)],
      [member(2, '127.0.0.9'), member(3), member(4)],
    );
    expect(diff.added).toStrictEqual([member(4)]);
    expect(diff.removed).toStrictEqual([member(1)]);
    expect(diff.moved).toStrictEqual([member(2, '127.0.0.9')]);
  });

  it('finds nothing to do for the same records', () => {
    const diff = diffMembers([member(1), member(2)], [member(1), member(2)]);
    expect([diff.added, diff.removed, diff.moved]).toStrictEqual([[], [], []]);
  });
});

describe('DiscoveryError', () => {
  it('sets its name, carries its context and is a DcacheError, also by name alone', () => {
    const cause = Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' });
    const error = new DiscoveryError('dns://a.test:1', 'a.test', 'ETIMEOUT', { cause });
    expect(error).toMatchObject({
      name: 'DiscoveryError',
      url: 'dns://a.test:1',
      dnsName: 'a.test',
      code: 'ETIMEOUT',
      empty: false,
      cause,
    });
    expect(error.message).toBe(
      'DNS discovery of dns://a.test:1: looking up a.test failed (ETIMEOUT)',
    );
    expect(new DiscoveryError('u', 'n', 'ENOTFOUND').empty).toBe(true);
    const foreign = Object.assign(new Error('x'), { name: 'DiscoveryError' });
    expect(isDiscoveryError(foreign) && isDcacheError(foreign)).toBe(true);
    expect(isDiscoveryError(new Error('x'))).toBe(false);
  });
});
