#!/usr/bin/env node
import { runDemo } from './demo.js';
import { parseOptions, USAGE } from './options.js';
import type { DemoOptions } from './options.js';
import { UsageError } from './usage-error.js';

function optionsOrExit(): DemoOptions {
  try {
    return parseOptions(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`dcache demo: ${error.message}\n\n${USAGE}`);
    process.exit(2);
  }
}

const options = optionsOrExit();
if (options.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
// A closed terminal (a dropped ssh session) or a reader gone from a pipe fails every later write
// (EIO, EPIPE). Nobody is left to read the narration, but the nodes still get their graceful stop:
// such an error must not crash the demo, whose exit handler would SIGKILL them.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
// Whatever escapes, exit non-zero: the cluster's 'exit' handler then SIGKILLs every node still running.
process.on('uncaughtException', (error) => {
  process.stderr.write(`dcache demo crashed: ${error.stack ?? String(error)}\n`);
  process.exit(1);
});
process.on('unhandledRejection', (reason) => {
  process.stderr.write(
    `dcache demo crashed: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}\n`,
  );
  process.exit(1);
});
process.exitCode = await runDemo(options);
