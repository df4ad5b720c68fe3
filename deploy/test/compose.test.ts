import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { envOf, parseDockerfile, readText } from './dockerfile.js';
import { DEPLOY_DIR, loadYaml, sizing } from './manifests.js';
import { startNode, stopNodes } from './node-process.js';

interface ComposeService {
  build: { context: string; dockerfile: string };
  image: string;
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  stop_grace_period: string;
  mem_limit: string;
  healthcheck: { test: string[] };
}
const compose = loadYaml('docker-compose.yml') as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};
const services = Object.entries(compose.services);
const [, runtime] = parseDockerfile(readText(join(DEPLOY_DIR, 'Dockerfile')));

/** Compose's interpolation, for the forms the file uses: ${VAR}, ${VAR:?error}, ${VAR:-default}. */
function interpolate(value: string, env: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{(\w+)(?::([?-])([^}]*))?\}/g,
    (_m, name: string, op?: string, arg?: string) => {
      const set = env[name];
      if (set !== undefined && set !== '') return set;
      if (op === '?') throw new Error(`required variable ${name} is missing a value: ${arg}`);
      return op === '-' ? arg! : '';
    },
  );
}

describe('deploy/docker-compose.yml', () => {
  it('has three nodes built from deploy/Dockerfile into one image', () => {
    expect(services.map(([name]) => name)).toEqual(['node1', 'node2', 'node3']);
    for (const [, service] of services) {
      expect(service.build).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(service.image).toBe('dcache-server:0.1.0');
    }
  });

  it('publishes each node on its own loopback port, to the port the image listens on', () => {
    const published = services.map(([, s]) => s.ports);
    expect(published).toEqual([
      ['127.0.0.1:8001:8001'],
      ['127.0.0.1:8002:8001'],
      ['127.0.0.1:8003:8001'],
    ]);
    expect(envOf(runtime!).DCACHE_PORT).toBe('8001');
  });

  it('gives every node the same required token, and its own snapshot volume at /data', () => {
    const tokens = services.map(([, s]) => s.environment.DCACHE_TOKEN);
    expect(new Set(tokens).size).toBe(1);
    expect(() => interpolate(tokens[0]!, {})).toThrow(/DCACHE_TOKEN/);
    expect(interpolate(tokens[0]!, { DCACHE_TOKEN: 's3cret' })).toBe('s3cret');
    expect(services.map(([, s]) => s.volumes)).toEqual([
      ['node1-data:/data'],
      ['node2-data:/data'],
      ['node3-data:/data'],
    ]);
    expect(Object.keys(compose.volumes)).toEqual(['node1-data', 'node2-data', 'node3-data']);
    expect(envOf(runtime!).DCACHE_SNAPSHOT_FILE).toMatch(/^\/data\//);
  });

  it('sizes, stops and health-checks nodes as the Kubernetes manifests and the image do', () => {
    for (const [, service] of services) {
      const { heapMiB, limitMiB, graceSeconds } = sizing(service.environment.DCACHE_MAX_MEMORY!);
      expect(service.environment.NODE_OPTIONS).toBe(`--max-old-space-size=${heapMiB}`);
      expect(service.mem_limit).toBe(`${limitMiB}m`);
      expect(service.stop_grace_period).toMatch(/^\d+s$/);
      expect(parseInt(service.stop_grace_period, 10)).toBeGreaterThanOrEqual(graceSeconds);
      const imageCheck = /CMD (\[.*\])$/.exec(
        runtime!.find((i) => i.keyword === 'HEALTHCHECK')!.args,
      )![1]!;
      expect(service.healthcheck.test).toEqual(['CMD', ...(JSON.parse(imageCheck) as string[])]);
    }
  });
});

describe("each compose node's command and environment, run through the real CLI", () => {
  let dir: string | undefined;
  afterEach(async () => {
    await stopNodes();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('start three nodes with distinct ids that save their snapshots at SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcache-compose-'));
    const nodes = [];
    for (const [name, service] of services) {
      const env: Record<string, string> = { ...envOf(runtime!) };
      for (const [key, value] of Object.entries(service.environment)) {
        env[key] = interpolate(value, { DCACHE_TOKEN: 'compose-token' });
      }
      env.DCACHE_SNAPSHOT_FILE = join(dir, `${name}.snapshot`);
      // Flags after the image name reach dcache-server (ENTRYPOINT); in a test, loopback and
      // an ephemeral port, given last so they win.
      const args = [...service.command, '--host', '127.0.0.1', '--port', '0'];
      nodes.push({ name, node: await startNode({ args, env }) });
    }
    for (const { name, node } of nodes) {
      const health = (await (await fetch(`${node.url}/healthz`)).json()) as { nodeId: string };
      expect(health.nodeId).toBe(name);
      const stats = await fetch(`${node.url}/v1/stats`, {
        headers: { authorization: 'Bearer compose-token' },
      });
      expect(stats.status).toBe(200);
      expect(node.output()).toContain('max memory 256 MiB');
    }
    for (const { node } of nodes) expect(await node.stop('SIGTERM')).toBe(0);
    for (const { node } of nodes) expect(node.output()).toMatch(/saved 0 entries/);
  });
});
