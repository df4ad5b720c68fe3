// A small authoritative DNS server over UDP on 127.0.0.1, for the faults dnsmasq will not make on
// demand: SERVFAIL, silence (a timeout), late answers, an empty answer, answers in a chosen order,
// a record set that flaps between two lookups. It speaks real DNS (RFC 1035) to the client's real
// resolver.
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';
import { once } from 'node:events';
import { isIPv4 } from 'node:net';

export interface ResponderRecords {
  /** SRV name → targets, answered in this order. */
  srv?: Record<string, { target: string; port: number }[]>;
  /** Name → addresses (IPv4 ones as A, the others as AAAA). */
  hosts?: Record<string, string[]>;
}

/**
 * How to answer: 'records' (the records, or NOERROR without answers for a name without them),
 * 'servfail' (RCODE 2), 'silent' (read the query, never answer: the client times out), 'empty'
 * (NOERROR, no answer, for every name), 'nxdomain' (RCODE 3).
 */
export type Behaviour = 'records' | 'servfail' | 'silent' | 'empty' | 'nxdomain';

export interface DnsResponder {
  server: string;
  /** Queries received so far (answered or not). */
  queries(): number;
  /** SRV queries received so far. */
  srvQueries(): number;
  set(records: ResponderRecords): void;
  behave(behaviour: Behaviour): void;
  /** Answers each SRV query with the next of `sets` in turn, from the next query on. */
  flap(sets: readonly ResponderRecords[]): void;
  /**
   * Sends each answer `ms` after its query came (0: at once), with the records of that moment: a
   * slow resolver that still answers within the client's timeout.
   */
  delay(ms: number): void;
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_SRV = 33;

const running = new Set<DnsResponder>();

export async function closeAllResponders(): Promise<void> {
  await Promise.all([...running].map((responder) => responder.close()));
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.');
  return Buffer.concat([
    ...labels.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

/** The question of a query: its name, type, and where it ends. */
function parseQuestion(query: Buffer): { name: string; type: number; end: number } | undefined {
  let offset = 12;
  const labels: string[] = [];
  while (offset < query.length) {
    const length = query[offset]!;
    if (length === 0) break;
    if (length > 63) return undefined;
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('latin1'));
    offset += 1 + length;
  }
  if (offset + 5 > query.length) return undefined;
  return {
    name: labels.join('.').toLowerCase(),
    type: query.readUInt16BE(offset + 1),
    end: offset + 5,
  };
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), i * 2));
  return bytes;
}

function answer(records: ResponderRecords, name: string, type: number): Buffer[] {
  const rdatas: Buffer[] = [];
  if (type === TYPE_SRV) {
    for (const { target, port } of records.srv?.[name] ?? []) {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(0, 0);
      fixed.writeUInt16BE(0, 2);
      fixed.writeUInt16BE(port, 4);
      rdatas.push(Buffer.concat([fixed, encodeName(target)]));
    }
  } else if (type === TYPE_A || type === TYPE_AAAA) {
    for (const address of records.hosts?.[name] ?? []) {
      if (isIPv4(address) !== (type === TYPE_A)) continue;
      rdatas.push(
        type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address),
      );
    }
  }
  return rdatas.map((rdata) => {
    const head = Buffer.alloc(12);
    head.writeUInt16BE(0xc00c, 0); // the question's name
    head.writeUInt16BE(type, 2);
    head.writeUInt16BE(1, 4); // IN
    head.writeUInt32BE(0, 6); // TTL 0: no resolver may cache it
    head.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([head, rdata]);
  });
}

export async function startResponder(initial: ResponderRecords = {}): Promise<DnsResponder> {
  const socket = createSocket('udp4');
  let records = initial;
  let behaviour: Behaviour = 'records';
  let flapping: readonly ResponderRecords[] | undefined;
  let flapTurn = 0;
  let queries = 0;
  let srvQueries = 0;
  let delayMs = 0;

  socket.on('message', (query: Buffer, peer: RemoteInfo) => {
    queries++;
    const question = parseQuestion(query);
    if (question === undefined || behaviour === 'silent') return;
    if (question.type === TYPE_SRV) srvQueries++;
    let served = records;
    if (flapping !== undefined && question.type === TYPE_SRV) {
      served = flapping[flapTurn++ % flapping.length]!;
      records = served;
    }
    const rcode = behaviour === 'servfail' ? 2 : behaviour === 'nxdomain' ? 3 : 0;
    const answers = behaviour === 'records' ? answer(served, question.name, question.type) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, AA, RD copied, RA, RCODE.
    header.writeUInt16BE(0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const reply = Buffer.concat([header, query.subarray(12, question.end), ...answers]);
    const send = (): void => {
      if (running.has(responder)) socket.send(reply, peer.port, peer.address);
    };
    if (delayMs === 0) send();
    else setTimeout(send, delayMs).unref();
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');

  const responder: DnsResponder = {
    server: `127.0.0.1:${socket.address().port}`,
    queries: () => queries,
    srvQueries: () => srvQueries,
    set(next) {
      flapping = undefined;
      records = next;
    },
    behave(next) {
      behaviour = next;
    },
    flap(sets) {
      flapping = sets;
      flapTurn = 0;
    },
    delay(ms) {
      delayMs = ms;
    },
    close: async () => {
      if (!running.delete(responder)) return;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
  running.add(responder);
  return responder;
}
