// The node's /metrics as OpenTelemetry metrics: the same numbers under the same names, read from
// the same text when the SDK collects, so the two can never disagree.
import type { BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { NodeState } from '../http/app-env.js';
import { prometheusText } from './stats.js';
import { otelApi, SCOPE } from './telemetry.js';
import { VERSION } from '../version.js';

export interface PrometheusSample {
  labels: Record<string, string>;
  value: number;
}

export interface PrometheusFamily {
  name: string;
  type: string;
  help: string;
  samples: PrometheusSample[];
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** The families of a Prometheus text exposition, as `/metrics` writes it (HELP, TYPE, samples). */
export function parsePrometheus(text: string): PrometheusFamily[] {
  const families = new Map<string, PrometheusFamily>();
  const family = (name: string): PrometheusFamily => {
    let found = families.get(name);
    if (found === undefined) {
      found = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, found);
    }
    return found;
  };
  let current: PrometheusFamily | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [name, ...help] = line.slice(7).split(' ');
      family(name!).help = help.join(' ');
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      current = family(name!);
      current.type = type ?? 'untyped';
    } else {
      const match = SAMPLE.exec(line);
      if (match === null || current === undefined) continue;
      const labels: Record<string, string> = {};
      for (const [, name, value] of (match[2] ?? '').matchAll(LABEL)) {
        labels[name!] = unescapeLabel(value!);
      }
      // A histogram's _bucket/_sum/_count lines belong to the family declared before them.
      current.samples.push({ labels, value: Number(match[3]) });
    }
  }
  return [...families.values()];
}

/**
 * The OpenTelemetry name and unit of a /metrics name: `dcache_` becomes `dcache.`, a counter's
 * `_total` goes, a `_bytes` or `_seconds` suffix becomes the unit (`By`, `s`). OTel's own
 * Prometheus exporter turns them back into the /metrics names: dcache.hits (a counter) →
 * dcache_hits_total, dcache.memory (By) → dcache_memory_bytes.
 */
export function otelMetricOf(name: string, type: string): { name: string; unit: string } {
  let base = name.replace(/^dcache_/, '');
  if (type === 'counter') base = base.replace(/_total$/, '');
  let unit = '1';
  if (base.endsWith('_bytes')) {
    base = base.slice(0, -'_bytes'.length);
    unit = 'By';
  } else if (base.endsWith('_seconds')) {
    base = base.slice(0, -'_seconds'.length);
    unit = 's';
  }
  return { name: `dcache.${base}`, unit };
}

/** Instruments per meter: every node of a process observes through the same ones. */
const instrumentsByMeter = new WeakMap<Meter, Map<string, Observable>>();

function instrumentsOf(
  meter: Meter,
  families: readonly PrometheusFamily[],
): Map<string, Observable> {
  let instruments = instrumentsByMeter.get(meter);
  if (instruments === undefined) {
    instruments = new Map();
    instrumentsByMeter.set(meter, instruments);
  }
  for (const { name, type, help } of families) {
    if (instruments.has(name)) continue;
    const { name: otelName, unit } = otelMetricOf(name, type);
    const options = { description: help, unit };
    instruments.set(
      name,
      type === 'counter'
        ? meter.createObservableCounter(otelName, options)
        : meter.createObservableGauge(otelName, options),
    );
  }
  return instruments;
}

/**
 * Publishes the node's /metrics through the global MeterProvider: every counter and gauge (the
 * latency histogram is left to /metrics and to the request spans' durations), each point with the
 * labels of /metrics plus `node_id`, so nodes sharing a process stay apart. The API's meters are
 * not proxies: the SDK must be registered before the node listens. Returns the function that
 * stops it (close()); undefined without @opentelemetry/api.
 */
export function observeNode(node: NodeState): (() => void) | undefined {
  if (otelApi === undefined) return undefined;
  const meter = otelApi.metrics.getMeter(SCOPE, VERSION);
  const families = parsePrometheus(prometheusText(node)).filter((f) => f.type !== 'histogram');
  const instruments = instrumentsOf(meter, families);
  const observables = families.map(({ name }) => instruments.get(name)!);
  const nodeId = node.options.nodeId;
  const callback = (result: BatchObservableResult): void => {
    for (const { name, samples } of parsePrometheus(prometheusText(node))) {
      const instrument = instruments.get(name);
      if (instrument === undefined) continue;
      for (const { labels, value } of samples) {
        if (Number.isFinite(value))
          result.observe(instrument, value, { ...labels, node_id: nodeId });
      }
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}
