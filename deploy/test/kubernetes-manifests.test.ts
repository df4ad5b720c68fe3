import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StatefulSet } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Secret, Service } from 'kubernetes-models/v1';
import { afterEach, describe, expect, it } from 'vitest';
import { loadManifests, restoreSeconds, sizing } from './manifests.js';
import type { Manifest } from './manifests.js';
import { startNode, stopNodes } from './node-process.js';

/** The API schemas (kubernetes-models' validators, generated from Kubernetes' OpenAPI spec). */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Service': Service,
  'v1/Secret': Secret,
  'apps/v1/StatefulSet': StatefulSet,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

function validate(manifest: Manifest): void {
  const Model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!Model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind}`);
  new Model(manifest as never).validate();
}

const all = loadManifests();
const named = (file: string, kind: string): Manifest => {
  const found = all.find((m) => m.file === file && m.manifest.kind === kind);
  if (!found) throw new Error(`no ${kind} in ${file}`);
  return found.manifest;
};

// The few shapes these tests read; the validators have checked the rest.
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}
interface Probe {
  httpGet: { path: string; port: string };
  periodSeconds: number;
  failureThreshold: number;
}
interface Container {
  image: string;
  env: EnvVar[];
  ports: { name: string; containerPort: number }[];
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
  volumeMounts: { name: string; mountPath: string }[];
}
interface StatefulSetSpec {
  serviceName: string;
  replicas: number;
  podManagementPolicy: string;
  minReadySeconds?: number;
  template: {
    spec: {
      terminationGracePeriodSeconds: number;
      enableServiceLinks?: boolean;
      containers: Container[];
      volumes?: { name: string }[];
    };
  };
  volumeClaimTemplates?: { metadata: { name: string } }[];
}
const statefulSetSpec = (file: string): StatefulSetSpec =>
  named(file, 'StatefulSet').spec as StatefulSetSpec;
const container = (file: string): Container => statefulSetSpec(file).template.spec.containers[0]!;
const envValue = (c: Container, name: string): string => {
  const value = c.env.find((e) => e.name === name)?.value;
  if (value === undefined) throw new Error(`no ${name} in the container's env`);
  return value;
};

const STATEFUL_SETS = ['statefulset.yaml', 'statefulset-persistent.yaml'];

describe('every manifest in deploy/kubernetes', () => {
  it('is found: services, both StatefulSets, the PodDisruptionBudget and the Secret example', () => {
    expect(all.map((m) => `${m.file}: ${m.manifest.kind} ${m.manifest.metadata.name}`)).toEqual([
      'pod-disruption-budget.yaml: PodDisruptionBudget dcache',
      'secret.example.yaml: Secret dcache-token',
      'services.yaml: Service dcache-headless',
      'services.yaml: Service dcache',
      'statefulset-persistent.yaml: StatefulSet dcache',
      'statefulset.yaml: StatefulSet dcache',
    ]);
  });

  it.each(
    all.map((m) => [`${m.file}: ${m.manifest.kind} ${m.manifest.metadata.name}`, m.manifest]),
  )('%s is valid against the Kubernetes API schema', (_name, manifest) => {
    expect(() => validate(manifest)).not.toThrow();
  });

  it.each(all.map((m) => [`${m.file}: ${m.manifest.kind}`, m.manifest]))(
    '%s names no namespace, so it applies to any',
    (_name, manifest) => {
      expect(manifest.metadata).not.toHaveProperty('namespace');
    },
  );

  it('a broken manifest fails validation: the validator validates', () => {
    const broken = structuredClone(named('statefulset.yaml', 'StatefulSet'));
    (broken.spec as { replicas: unknown }).replicas = 'three';
    expect(() => validate(broken)).toThrow(/replicas must be integer/);
    const noImage = structuredClone(named('statefulset.yaml', 'StatefulSet'));
    const spec = noImage.spec as StatefulSetSpec;
    (spec.template.spec.containers[0]! as { name?: string }).name = undefined;
    expect(() => validate(noImage)).toThrow(/name/);
    const badPort = structuredClone(named('services.yaml', 'Service'));
    (badPort.spec as { ports: { port: unknown }[] }).ports[0]!.port = '8001';
    expect(() => validate(badPort)).toThrow(/port must be integer/);
  });
});

describe('names the cluster client discovers nodes by', () => {
  const headless = named('services.yaml', 'Service').spec as {
    clusterIP: string;
    publishNotReadyAddresses: boolean;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string; protocol: string }[];
  };

  it('dcache-headless is headless and publishes port http/TCP 8001 (SRV _http._tcp.dcache-headless…)', () => {
    expect(headless.clusterIP).toBe('None');
    expect(headless.ports).toEqual([
      { name: 'http', port: 8001, targetPort: 'http', protocol: 'TCP' },
    ]);
    expect(headless.publishNotReadyAddresses).toBe(false);
  });

  it.each(STATEFUL_SETS)('%s: pods dcache-N.dcache-headless, selected by both Services', (file) => {
    const spec = statefulSetSpec(file);
    expect(spec.serviceName).toBe('dcache-headless');
    const labels = (
      named(file, 'StatefulSet').spec as { template: { metadata: { labels: object } } }
    ).template.metadata.labels;
    expect(labels).toMatchObject(headless.selector);
    for (const service of all.filter((m) => m.manifest.kind === 'Service')) {
      expect(labels).toMatchObject((service.manifest.spec as { selector: object }).selector);
    }
    expect(container(file).ports).toEqual([{ name: 'http', containerPort: 8001, protocol: 'TCP' }]);
    expect(envValue(container(file), 'DCACHE_PORT')).toBe('8001');
  });
});

describe.each(STATEFUL_SETS)('%s', (file) => {
  const spec = statefulSetSpec(file);
  const c = container(file);

  it('runs 3 nodes started in parallel, and the PodDisruptionBudget lets one go at a time', () => {
    expect(spec.replicas).toBe(3);
    expect(spec.podManagementPolicy).toBe('Parallel');
    const budget = named('pod-disruption-budget.yaml', 'PodDisruptionBudget').spec as {
      maxUnavailable: number;
      selector: { matchLabels: object };
    };
    expect(budget.maxUnavailable).toBe(1);
    const labels = (named(file, 'StatefulSet').spec as { selector: { matchLabels: object } })
      .selector.matchLabels;
    expect(budget.selector.matchLabels).toEqual(labels);
  });

  it('waits, in a rolling update, until the clients have restored a node before stopping the next', () => {
    // Otherwise both replicas of a key may come back unverified, and the key reads as a miss.
    const needed = restoreSeconds(envValue(c, 'DCACHE_MAX_MEMORY'), spec.replicas);
    expect(needed).toBeGreaterThan(30);
    expect(spec.minReadySeconds).toBeGreaterThanOrEqual(needed);
  });

  it("turns the kubelet's service links off: the Service dcache's would be read as the node's flags", () => {
    // The kubelet names a Service's variables after it: DCACHE_PORT=tcp://<ip>:8001 among them,
    // which the node takes as --port (and exits 2 on) wherever the manifest does not set it.
    const services = all.filter((m) => m.manifest.kind === 'Service');
    const injected = services.flatMap(({ manifest }) => {
      const prefix = manifest.metadata.name.toUpperCase().replace(/-/g, '_');
      return [`${prefix}_SERVICE_HOST`, `${prefix}_SERVICE_PORT`, `${prefix}_PORT`];
    });
    expect(injected).toContain('DCACHE_PORT');
    expect(spec.template.spec.enableServiceLinks).toBe(false);
  });

  it('probes /healthz on the http port; startup allows a minute for a snapshot to load', () => {
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      expect(probe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    }
    expect(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold).toBeGreaterThanOrEqual(
      60,
    );
    // A save holds the loop for its dump (~0.2 s per million entries), a busy node longer:
    // liveness must not kill it for that.
    expect(c.livenessProbe.periodSeconds * c.livenessProbe.failureThreshold).toBeGreaterThanOrEqual(
      30,
    );
  });

  it('takes the token from the Secret dcache-token and binds 0.0.0.0', () => {
    const token = c.env.find((e) => e.name === 'DCACHE_TOKEN');
    expect(token?.valueFrom?.secretKeyRef).toEqual({ name: 'dcache-token', key: 'token' });
    const secret = named('secret.example.yaml', 'Secret') as unknown as {
      stringData?: Record<string, string>;
    };
    expect(Object.keys(secret.stringData ?? {})).toEqual(['token']);
    expect(envValue(c, 'DCACHE_HOST')).toBe('0.0.0.0');
  });

  it('sizes heap and memory from DCACHE_MAX_MEMORY by the README formula', () => {
    const { heapMiB, limitMiB } = sizing(envValue(c, 'DCACHE_MAX_MEMORY'));
    expect(envValue(c, 'NODE_OPTIONS')).toBe(`--max-old-space-size=${heapMiB}`);
    expect(c.resources.limits.memory).toBe(`${limitMiB}Mi`);
    expect(c.resources.requests.memory).toBe(`${limitMiB}Mi`);
    expect(c.resources.limits).not.toHaveProperty('cpu');
  });

  it('gives a stop time for the shutdown grace, 10 s of in-flight requests and a snapshot save (README formula)', () => {
    expect(envValue(c, 'DCACHE_SNAPSHOT_FILE')).toBe('/data/dcache.snapshot');
    expect(c.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
    const shutdownGrace = Number(envValue(c, 'DCACHE_SHUTDOWN_GRACE'));
    expect(shutdownGrace).toBeGreaterThan(0);
    const { graceSeconds } = sizing(envValue(c, 'DCACHE_MAX_MEMORY'), shutdownGrace);
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(graceSeconds);
  });
});

it('the two StatefulSets differ only in where /data lives', () => {
  const [ephemeral, persistent] = STATEFUL_SETS.map((file) => statefulSetSpec(file));
  expect(ephemeral!.template.spec.volumes).toEqual([
    { name: 'data', emptyDir: { sizeLimit: '1Gi' } },
  ]);
  expect(ephemeral!.volumeClaimTemplates).toBeUndefined();
  expect(persistent!.template.spec.volumes).toBeUndefined();
  expect(persistent!.volumeClaimTemplates?.map((t) => t.metadata.name)).toEqual(['data']);
  const withoutVolumes = (spec: StatefulSetSpec): unknown => {
    const copy = structuredClone(spec);
    delete copy.template.spec.volumes;
    delete copy.volumeClaimTemplates;
    return copy;
  };
  expect(withoutVolumes(persistent!)).toEqual(withoutVolumes(ephemeral!));
});

describe("the StatefulSet's container settings, run through the real CLI", () => {
  let dir: string | undefined;
  afterEach(async () => {
    await stopNodes();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('start a node that guards all but /healthz with the token and saves its snapshot at SIGTERM', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcache-k8s-'));
    const token = (
      named('secret.example.yaml', 'Secret') as unknown as { stringData: { token: string } }
    ).stringData.token;
    const env: Record<string, string> = {};
    for (const variable of container('statefulset.yaml').env) {
      if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name')
        env[variable.name] = 'dcache-0';
      else if (variable.valueFrom?.secretKeyRef) env[variable.name] = token;
      else env[variable.name] = variable.value!;
    }
    // Loopback and an ephemeral port in a test; the snapshot in the temp dir instead of /data.
    Object.assign(env, {
      DCACHE_HOST: '127.0.0.1',
      DCACHE_PORT: '0',
      DCACHE_SNAPSHOT_FILE: join(dir, 'dcache.snapshot'),
    });
    const node = await startNode({ env });
    expect(node.output()).toMatch(/"event":"listening".*max memory 256 MiB/);

    const health = await fetch(`${node.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', nodeId: 'dcache-0' });
    expect((await fetch(`${node.url}/v1/stats`)).status).toBe(401);
    const auth = { authorization: `Bearer ${token}` };
    const put = await fetch(`${node.url}/v1/keys/greeting`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(put.status).toBe(204);

    expect(await node.stop('SIGTERM')).toBe(0);
    expect(existsSync(env.DCACHE_SNAPSHOT_FILE!)).toBe(true);
    expect(node.output()).toMatch(/"event":"snapshot_saved"/);
  });
});
