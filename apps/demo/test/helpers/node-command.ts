/** The flags of a dcache node's command line that tell one node from another. */
export interface NodeCommand {
  port: string | undefined;
  nodeId: string | undefined;
}

/** `--port` and `--node-id` of a `dcache-server …` command line; undefined for any other command. */
export function nodeCommand(args: readonly string[]): NodeCommand | undefined {
  if (!args.some((arg) => arg.includes('dcache-server'))) return undefined;
  const after = (flag: string): string | undefined => {
    const at = args.indexOf(flag);
    return at === -1 ? undefined : args[at + 1];
  };
  return { port: after('--port'), nodeId: after('--node-id') };
}
