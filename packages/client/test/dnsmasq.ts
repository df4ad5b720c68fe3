// A real DNS server for discovery tests: dnsmasq in the foreground on a loopback UDP port, serving
// SRV records from its config file and A/AAAA records from a hosts file of ours.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './cluster.js';

export interface SrvRecord {
  /** The SRV name, e.g. `_http._tcp.dcache.test`. */
  name: string;
  target: string;
  port: number;
}

export interface DnsRecords {
  srv: SrvRecord[];
  /** Name → addresses (A for IPv4, AAAA for IPv6). */
  hosts: Record<string, string[]>;
}

export interface Dnsmasq {
  /** `127.0.0.1:<port>`, for `discovery.servers`. */
  server: string;
  /**
   * Serves `records` from now on: A/AAAA changes through a SIGHUP (dnsmasq re-reads its hosts
   * file), SRV changes by a restart on the same port (it reads srv-host only at start). Resolves
   * once dnsmasq answers with them.
   */
  update(records: DnsRecords): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<Dnsmasq>();

/** Debian installs it in /usr/sbin, which a non-root PATH may lack. */
const DNSMASQ = existsSync('/usr/sbin/dnsmasq') ? '/usr/sbin/dnsmasq' : 'dnsmasq';

/** Stops every dnsmasq started here that is still running: for afterAll/afterEach. */
export async function stopAllDnsmasq(): Promise<void> {
  await Promise.all([...running].map((dns) => dns.stop()));
}

/** A UDP port free on 127.0.0.1 a moment ago (dnsmasq takes a port number, not 0). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

function config(records: DnsRecords, hostsFile: string): string {
  return [
    // Names under .test are ours: unknown ones get NXDOMAIN, never an upstream.
    'local=/test/',
    `addn-hosts=${hostsFile}`,
    ...records.srv.map(({ name, target, port }) => `srv-host=${name},${target},${port}`),
    '',
  ].join('\n');
}

function hosts(records: DnsRecords): string {
  const lines: string[] = [];
  for (const [name, addresses] of Object.entries(records.hosts)) {
    for (const address of addresses) lines.push(`${address} ${name}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What dnsmasq answers now, in the shape of `records` (sorted), for "has it taken the update". */
async function served(resolver: Resolver, records: DnsRecords): Promise<string> {
  const answer = async <T>(lookup: () => Promise<T[]>): Promise<T[]> =>
    lookup().catch((): T[] => []);
  const names = [...new Set(records.srv.map((record) => record.name))];
  const srv = (
    await Promise.all(
      names.map(async (name) =>
        (await answer(() => resolver.resolveSrv(name))).map(
          (record) => `${name},${record.name},${record.port}`,
        ),
      ),
    )
  ).flat();
  const addresses = (
    await Promise.all(
      Object.keys(records.hosts).map(async (name) => [
        ...(await answer(() => resolver.resolve4(name))).map((address) => `${name} ${address}`),
        ...(await answer(() => resolver.resolve6(name))).map((address) => `${name} ${address}`),
      ]),
    )
  ).flat();
  return JSON.stringify([srv.sort(), addresses.sort()]);
}

function expected(records: DnsRecords): string {
  const srv = records.srv.map(({ name, target, port }) => `${name},${target},${port}`);
  const addresses = Object.entries(records.hosts).flatMap(([name, list]) =>
    list.map((address) => `${name} ${address}`),
  );
  return JSON.stringify([srv.sort(), addresses.sort()]);
}

/** Starts dnsmasq serving `records`; pair with `stopAllDnsmasq()`. */
export async function startDnsmasq(initial: DnsRecords): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'dcache-dnsmasq-'));
  // dnsmasq drops root for "nobody" once started, and re-reads the hosts file as that user.
  chmodSync(dir, 0o755);
  const confFile = join(dir, 'dnsmasq.conf');
  const hostsFile = join(dir, 'hosts');
  let records = initial;
  let child: ChildProcess | undefined;
  let port = 0;
  let output = '';
  const resolver = new Resolver({ timeout: 200, tries: 1 });

  const write = (): void => {
    writeFileSync(hostsFile, hosts(records), { mode: 0o644 });
    writeFileSync(confFile, config(records, hostsFile), { mode: 0o644 });
  };
  const launch = async (): Promise<void> => {
    const proc = spawn(
      DNSMASQ,
      [
        '--keep-in-foreground',
        `--port=${port}`,
        '--listen-address=127.0.0.1',
        '--bind-interfaces',
        '--no-resolv',
        '--no-hosts',
        '--no-poll',
        // No pid file: this is not a service.
        '--pid-file',
        '--log-facility=-',
        `--conf-file=${confFile}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    proc.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    proc.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await settled();
  };
  const exited = (): boolean =>
    child === undefined || child.exitCode !== null || child.signalCode !== null;
  const settled = (): Promise<void> =>
    waitFor(
      async () => {
        if (exited()) throw new Error(`dnsmasq exited:\n${output}`);
        return (await served(resolver, records)) === expected(records);
      },
      'dnsmasq to serve its records',
      { timeoutMs: 5000, intervalMs: 20 },
    );
  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || exited()) return;
    const gone = once(proc, 'exit');
    proc.kill('SIGKILL');
    await gone;
  };

  write();
  for (let attempt = 1; ; attempt++) {
    port = await freeUdpPort();
    resolver.setServers([`127.0.0.1:${port}`]);
    try {
      await launch();
      break;
    } catch (error) {
      await kill();
      // Another process took the port between our probe and dnsmasq's bind: try another.
      if (attempt === 3 || !/Address already in use/.test(output)) throw error;
      output = '';
    }
  }

  const dns: Dnsmasq = {
    server: `127.0.0.1:${port}`,
    async update(next) {
      const restart = JSON.stringify(next.srv) !== JSON.stringify(records.srv);
      records = next;
      write();
      if (!restart) {
        child!.kill('SIGHUP');
        await settled();
        return;
      }
      await kill();
      await launch();
    },
    async stop() {
      running.delete(dns);
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(dns);
  return dns;
}
