import { describe, expect, it } from 'vitest';
import { parseOptions, USAGE } from '../src/options.js';
import { UsageError } from '../src/usage-error.js';

describe('demo options', () => {
  it('defaults to ports 8001-8003, the dashboard on 8080 and 64mb nodes', () => {
    expect(parseOptions([])).toEqual({
      ports: [8001, 8002, 8003],
      host: '127.0.0.1',
      dashboardPort: 8080,
      maxMemory: '64mb',
      once: false,
      help: false,
    });
  });

  it('shows the usage without the `--` that pnpm would pass on', () => {
    expect(USAGE).toMatch(/^Usage: pnpm demo \[options\]/);
  });

  it.each([
    [['--base-port', '9000'], { ports: [9000, 9001, 9002] }],
    [['--ports', '7001, 7005,7009,7010'], { ports: [7001, 7005, 7009, 7010] }],
    [['--no-dashboard'], { dashboardPort: undefined }],
    [['--dashboard-port', '0'], { dashboardPort: 0 }],
    [['--base-port', '8078', '--no-dashboard'], { ports: [8078, 8079, 8080] }],
    [
      ['--once', '--max-memory', '8MB', '--host', '::1'],
      { once: true, maxMemory: '8MB', host: '::1' },
    ],
    [['-h'], { help: true }],
    // The node's own size syntax (@dcache/server's parseSize): whatever it accepts, the demo does.
    [['--max-memory', '1mb'], { maxMemory: '1mb' }],
    [['--max-memory', '64MiB'], { maxMemory: '64MiB' }],
    // npm habit: `pnpm demo -- --base-port 9000` hands the script a leading `--`.
    [['--', '--base-port', '9000', '--once'], { ports: [9000, 9001, 9002], once: true }],
  ])('%j', (args, expected) => {
    expect(parseOptions(args)).toMatchObject(expected);
  });

  it.each([
    [['--ports', '9001,9002'], /--ports needs at least 3 ports/],
    [['--ports', '9001,9001,9002'], /--ports must all differ/],
    [['--ports', '9001,x,9002'], /--ports must be a port number from 1 to 65535, got "x"/],
    [['--ports', '0,1,2'], /got "0"/],
    [['--base-port', '70000'], /--base-port must be a port number/],
    [['--base-port', '65534'], /leaves no room for 3 nodes/],
    [['--ports', '1,2,3', '--base-port', '5'], /cannot be combined/],
    [['--dashboard-port', '-1'], /--dashboard-port/],
    [['--max-memory', 'lots'], /--max-memory must be bytes or a size like "512kb".*got "lots"/],
    [['--max-memory', '64 parsecs'], /--max-memory must be bytes or a size like/],
    [['--frobnicate'], /frobnicate/],
    [['extra'], /extra/],
    [['--', '--once', '--', '--help'], /--help/],
    [
      ['--max-memory', '0'],
      /--max-memory must be at least 1mb \(what the walkthrough stores\), got "0"/,
    ],
    [['--max-memory', '0.0mb'], /--max-memory must be at least 1mb/],
    [['--max-memory', '100'], /--max-memory must be at least 1mb/],
    [['--max-memory', '1023k'], /--max-memory must be at least 1mb/],
    // The node floors a size to whole bytes: these would start nodes with 0 bytes, which fail (exit 1).
    [['--max-memory', '0.5'], /--max-memory must be at least 1mb .*got "0.5"/],
    [['--max-memory', '0.4b'], /--max-memory must be at least 1mb/],
    [['--host', ''], /--host must not be empty/],
    [['--dashboard-port', '9090', '--no-dashboard'], /--dashboard-port and --no-dashboard/],
    [['--base-port', '8079'], /the dashboard's port 8080 is also a node's: pass --dashboard-port/],
    [['--ports', '9001,9002,9003', '--dashboard-port', '9002'], /port 9002 is also a node's/],
  ])('rejects %j with a UsageError naming the flag', (args, message) => {
    expect(() => parseOptions(args)).toThrow(UsageError);
    expect(() => parseOptions(args)).toThrow(message);
  });
});
