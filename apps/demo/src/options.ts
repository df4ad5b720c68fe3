import { parseArgs } from 'node:util';
import { parseSize } from '@dcache/server';

/** The smallest --max-memory the walkthrough runs in (it passes at 512kb; 64k fails). */
const MIN_MAX_MEMORY_BYTES = 1024 * 1024;
import { UsageError } from './usage-error.js';

/** Everything the demo can be told on its command line, resolved and validated in one place. */
export interface DemoOptions {
  /** One port per node; the demo needs at least three so one can die while two replicas survive. */
  readonly ports: readonly number[];
  /** Interface the nodes and the dashboard bind. */
  readonly host: string;
  /** Dashboard port; 0 picks a free one, `undefined` turns the dashboard off. */
  readonly dashboardPort: number | undefined;
  /** Each node's --max-memory. */
  readonly maxMemory: string;
  /** Exit after the walkthrough instead of waiting for Ctrl-C. */
  readonly once: boolean;
  readonly help: boolean;
  /** The `dcache-server` bin to run; not a flag (tests and development point it elsewhere). @default @dcache/server's */
  readonly serverBin?: string;
}

export const DEFAULT_BASE_PORT = 8001;
export const DEFAULT_NODE_COUNT = 3;
export const DEFAULT_DASHBOARD_PORT = 8080;

export const USAGE = `Usage: pnpm demo [options]   (or: node apps/demo/dist/main.js [options])

Starts three dcache nodes as separate processes, walks through what the cluster does,
then keeps it running with a live dashboard until Ctrl-C.

Options:
  --ports <a,b,c>         node ports (default 8001,8002,8003)
  --base-port <n>         use ports n, n+1, n+2 instead
  --host <addr>           interface to bind (default 127.0.0.1)
  --dashboard-port <n>    dashboard port (default 8080; 0 picks a free one)
  --no-dashboard          do not serve the dashboard
  --max-memory <size>     each node's memory limit (default 64mb)
  --once                  exit after the walkthrough (used by the tests)
  -h, --help              show this help
`;

function port(flag: string, text: string, allowZero: boolean): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > 65535 || (!allowZero && value === 0)) {
    throw new UsageError(
      `${flag} must be a port number${allowZero ? '' : ' from 1'} to 65535, got "${text}"`,
    );
  }
  return value;
}

export function parseOptions(argv: readonly string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      // npm habit: `pnpm demo -- --once` passes the `--` on, which would make every flag a positional.
      args: argv[0] === '--' ? argv.slice(1) : [...argv],
      strict: true,
      allowPositionals: false,
      allowNegative: true,
      options: {
        ports: { type: 'string' },
        'base-port': { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'dashboard-port': { type: 'string' },
        dashboard: { type: 'boolean', default: true },
        'max-memory': { type: 'string', default: '64mb' },
        once: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const { values } = parsed;
  if (values.ports !== undefined && values['base-port'] !== undefined) {
    throw new UsageError('--ports and --base-port cannot be combined');
  }
  let ports: number[];
  if (values.ports !== undefined) {
    ports = values.ports.split(',').map((text) => port('--ports', text.trim(), false));
  } else {
    const base =
      values['base-port'] === undefined
        ? DEFAULT_BASE_PORT
        : port('--base-port', values['base-port'], false);
    if (base + DEFAULT_NODE_COUNT - 1 > 65535)
      throw new UsageError(`--base-port ${base} leaves no room for ${DEFAULT_NODE_COUNT} nodes`);
    ports = Array.from({ length: DEFAULT_NODE_COUNT }, (_, i) => base + i);
  }
  if (ports.length < DEFAULT_NODE_COUNT) {
    throw new UsageError(
      `--ports needs at least ${DEFAULT_NODE_COUNT} ports (one node dies during the walkthrough), got ${ports.length}`,
    );
  }
  if (new Set(ports).size !== ports.length)
    throw new UsageError(`--ports must all differ, got ${ports.join(',')}`);
  // Checked here, not left to the nodes, so it is a usage error (exit 2) like every other bad flag;
  // with the nodes' own parser, so the demo accepts exactly the sizes they do (and floors alike).
  let maxMemoryBytes: number;
  try {
    maxMemoryBytes = parseSize('--max-memory', values['max-memory']);
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  // The walkthrough stores about 100 KiB per node and the scaling section 2,000 keys: below this
  // a node refuses them (a step fails, or a rejected write ends the demo).
  if (maxMemoryBytes < MIN_MAX_MEMORY_BYTES) {
    throw new UsageError(
      `--max-memory must be at least 1mb (what the walkthrough stores), got "${values['max-memory']}"`,
    );
  }
  // The nodes refuse it too, but only once started: a bad flag is a usage error (exit 2).
  if (values.host.trim() === '') throw new UsageError('--host must not be empty');
  if (!values.dashboard && values['dashboard-port'] !== undefined) {
    throw new UsageError('--dashboard-port and --no-dashboard cannot be combined');
  }
  const dashboardPort = values.dashboard
    ? values['dashboard-port'] === undefined
      ? DEFAULT_DASHBOARD_PORT
      : port('--dashboard-port', values['dashboard-port'], true)
    : undefined;
  if (dashboardPort !== undefined && ports.includes(dashboardPort)) {
    throw new UsageError(
      `the dashboard's port ${dashboardPort} is also a node's: pass --dashboard-port <n> or --no-dashboard`,
    );
  }
  return {
    ports,
    host: values.host,
    dashboardPort,
    maxMemory: values['max-memory'],
    once: values.once,
    help: values.help,
  };
}
