import { describe, expect, it } from 'vitest';
import { DistributedCacheClient } from './client.js';
import { resolveOptions } from './options.js';

describe('discovery URL as nodes', () => {
  it.each([
    [
      'dns+srv://_http._tcp.dcache.default.svc.cluster.local',
      {
        records: 'srv',
        protocol: 'http:',
        name: '_http._tcp.dcache.default.svc.cluster.local',
        port: undefined,
      },
    ],
    [
      'dns+srvs://_https._tcp.dcache.test.',
      { records: 'srv', protocol: 'https:', name: '_https._tcp.dcache.test', port: undefined },
    ],
    [
      'dns://dcache-headless.default.svc.cluster.local:8001',
      {
        records: 'address',
        protocol: 'http:',
        name: 'dcache-headless.default.svc.cluster.local',
        port: 8001,
      },
    ],
    [
      'DNSS://Cache.Test:443/',
      { records: 'address', protocol: 'https:', name: 'cache.test', port: 443 },
    ],
  ])('%s', (url, target) => {
    const resolved = resolveOptions(url);
    expect(resolved.nodes).toStrictEqual([]);
    expect(resolved.discovery).toStrictEqual({
      target: { href: url, ...target },
      intervalMs: 5000,
      timeoutMs: 2000,
      servers: undefined,
    });
  });

  it('keeps valid discovery options', () => {
    const discovery = {
      intervalMs: 250,
      timeoutMs: 100,
      servers: ['127.0.0.1:5353', '10.0.0.1', '[::1]:53', '::1'],
    };
    expect(resolveOptions('dns+srv://_x._tcp.a.test', { discovery }).discovery).toMatchObject(
      discovery,
    );
  });

  const bad: [string, unknown, unknown, ErrorConstructor, RegExp][] = [
    [
      'an http URL string',
      'http://a:1',
      undefined,
      TypeError,
      /nodes must be an array of base URLs or a discovery URL .*"http:\/\/a:1"/,
    ],
    [
      'an unknown scheme',
      'consul://x',
      undefined,
      TypeError,
      /discovery URL \(dns\+srv:\/\/.*got "consul:\/\/x"/,
    ],
    [
      'dns:// without a port',
      'dns://cache.test',
      undefined,
      TypeError,
      /dns:\/\/ needs the nodes' port .*"dns:\/\/cache\.test"/,
    ],
    [
      'dns+srv:// with a port',
      'dns+srv://_x._tcp.a.test:53',
      undefined,
      TypeError,
      /SRV records carry the port/,
    ],
    [
      'a path',
      'dns://cache.test:1/x',
      undefined,
      TypeError,
      /no path, got "dns:\/\/cache\.test:1\/x"/,
    ],
    [
      'a query',
      'dns://cache.test:1?x=1',
      undefined,
      TypeError,
      /no query, fragment or credentials/,
    ],
    ['a bad DNS name', 'dns://bad_-.:1', undefined, TypeError, /is not a DNS name/],
    ['an empty host', 'dns+srv://', undefined, TypeError, /nodes/],
    [
      'discovery with a node list',
      ['http://a:1'],
      { discovery: {} },
      TypeError,
      /option "discovery" applies only when nodes is a discovery URL/,
    ],
    [
      'discovery not an object',
      'dns://a.test:1',
      { discovery: 5 },
      TypeError,
      /option "discovery" must be an object .*got number/,
    ],
    [
      'a misspelt field',
      'dns://a.test:1',
      { discovery: { interval: 5 } },
      TypeError,
      /option "discovery" has an unknown field "interval"/,
    ],
    [
      'intervalMs too small',
      'dns://a.test:1',
      { discovery: { intervalMs: 10 } },
      RangeError,
      /option "discovery.intervalMs" must be an integer from 100 to 2147483647, got 10/,
    ],
    [
      'intervalMs a string',
      'dns://a.test:1',
      { discovery: { intervalMs: '5s' } },
      TypeError,
      /option "discovery.intervalMs" must be a number, got string/,
    ],
    [
      'timeoutMs 0',
      'dns://a.test:1',
      { discovery: { timeoutMs: 0 } },
      RangeError,
      /option "discovery.timeoutMs" must be an integer from 1 to/,
    ],
    [
      'servers a string',
      'dns://a.test:1',
      { discovery: { servers: '127.0.0.1' } },
      TypeError,
      /option "discovery.servers" must be an array/,
    ],
    [
      'servers empty',
      'dns://a.test:1',
      { discovery: { servers: [] } },
      RangeError,
      /must list 1 to 8 resolvers, got 0/,
    ],
    [
      'a server name',
      'dns://a.test:1',
      { discovery: { servers: ['dns.test:53'] } },
      TypeError,
      /option "discovery.servers\[0\]" must be an IP address .*got "dns\.test:53"/,
    ],
    [
      'a server port 0',
      'dns://a.test:1',
      { discovery: { servers: ['127.0.0.1:0'] } },
      TypeError,
      /servers\[0\]" must be an IP address/,
    ],
    [
      'a server port past 65535',
      'dns://a.test:1',
      { discovery: { servers: ['1.2.3.4', '127.0.0.1:65536'] } },
      TypeError,
      /servers\[1\]"/,
    ],
    [
      'IPv6 with a port, unbracketed',
      'dns://a.test:1',
      { discovery: { servers: ['::1:53x'] } },
      TypeError,
      /servers\[0\]"/,
    ],
    [
      'a server not a string',
      'dns://a.test:1',
      { discovery: { servers: [53] } },
      TypeError,
      /servers\[0\]" must be an 'ip' or 'ip:port' string, got number/,
    ],
    [
      'onMembershipChange not a function',
      'dns://a.test:1',
      { onMembershipChange: 1 },
      TypeError,
      /"onMembershipChange" must be a function/,
    ],
    [
      'onDiscoveryError not a function',
      'dns://a.test:1',
      { onDiscoveryError: 'log' },
      TypeError,
      /"onDiscoveryError" must be a function/,
    ],
  ];
  it.each(bad)('%s → %s', (_name, nodes, options, type, message) => {
    expect(() => resolveOptions(nodes, options as never)).toThrow(type);
    expect(() => resolveOptions(nodes, options as never)).toThrow(message);
  });

  it('addNode and removeNode are refused: DNS owns the membership', async () => {
    // A resolver nobody answers on: the client must not need one to refuse.
    const client = new DistributedCacheClient('dns://a.test:1', {
      discovery: { servers: ['127.0.0.1:9'], timeoutMs: 1 },
      onDiscoveryError: () => undefined,
    });
    try {
      expect(() => client.addNode('http://b:1')).toThrow(
        /addNode: the nodes come from DNS discovery \(dns:\/\/a\.test:1\)/,
      );
      await expect(client.removeNode('http://b:1')).rejects.toThrow(
        /removeNode: the nodes come from DNS discovery/,
      );
    } finally {
      await client.close();
    }
  });
});
