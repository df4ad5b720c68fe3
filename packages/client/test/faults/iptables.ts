// The iptables calls of the nemesis's partitions: one chain per nemesis, jumped to from INPUT and
// OUTPUT, so that undoing a partition removes exactly what it added.
import { execFileSync } from 'node:child_process';

/** Every nemesis chain starts with this, then the owner's pid: `DCACHE_TEST_<pid>_<suffix>`. */
export const CHAIN_PREFIX = 'DCACHE_TEST_';

/** Creates `chain` and jumps to it from INPUT and OUTPUT (a loopback packet passes both). */
export function makeChain(chain: string): void {
  iptables(['-N', chain]);
  iptables(['-I', 'INPUT', '-j', chain]);
  iptables(['-I', 'OUTPUT', '-j', chain]);
}

/** The two DROP rules that cut `host:port` off: packets to it and packets from it. */
export function dropRules(host: string, port: number): string[][] {
  return [
    ['-d', `${host}/32`, '-p', 'tcp', '--dport', String(port), '-j', 'DROP'],
    ['-s', `${host}/32`, '-p', 'tcp', '--sport', String(port), '-j', 'DROP'],
  ];
}

export function iptables(args: string[]): void {
  try {
    // -w: wait for the xtables lock rather than fail when another test changes rules at once.
    execFileSync('iptables', ['-w', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const { code, stderr } = error as { code?: string; stderr?: Buffer };
    if (code === 'ENOENT') {
      throw new Error(
        'partition() needs iptables (Debian: apt-get install iptables) and root; it is not installed',
      );
    }
    throw new Error(
      `iptables ${args.join(' ')} failed (partition() needs root or CAP_NET_ADMIN): ${stderr?.toString().trim() ?? String(error)}`,
    );
  }
}

/** Removes exactly what `makeChain` and the rules added; quiet about parts already gone. */
export function removeChain(chain: string): void {
  const quiet = (args: string[]): void => {
    try {
      execFileSync('iptables', ['-w', ...args], { stdio: 'ignore' });
    } catch {
      // Already gone, or iptables is missing (then nothing was added).
    }
  };
  quiet(['-D', 'INPUT', '-j', chain]);
  quiet(['-D', 'OUTPUT', '-j', chain]);
  quiet(['-F', chain]);
  quiet(['-X', chain]);
}

/** The nemesis chains there are now, with their owners' pids ([] when iptables is missing). */
export function listChains(): { chain: string; owner: number }[] {
  let listed: string;
  try {
    listed = execFileSync('iptables', ['-w', '-S'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
  } catch {
    return [];
  }
  const found: { chain: string; owner: number }[] = [];
  for (const match of listed.matchAll(new RegExp(`^-N (${CHAIN_PREFIX}(\\d+)_[0-9a-z]+)$`, 'gm'))) {
    found.push({ chain: match[1]!, owner: Number(match[2]) });
  }
  return found;
}
