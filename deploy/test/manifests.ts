import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, parse } from 'yaml';

export const DEPLOY_DIR = fileURLToPath(new URL('..', import.meta.url));
export const KUBERNETES_DIR = join(DEPLOY_DIR, 'kubernetes');

/** A Kubernetes object as written: `kind`, `apiVersion`, `metadata` and the rest, untyped. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Every document of every `deploy/kubernetes/*.yaml`, with the file it came from. */
export function loadManifests(): { file: string; manifest: Manifest }[] {
  const files = readdirSync(KUBERNETES_DIR).filter((name) => name.endsWith('.yaml'));
  return files.sort().flatMap((file) =>
    parseAllDocuments(readFileSync(join(KUBERNETES_DIR, file), 'utf8')).map((document) => {
      if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
      return { file, manifest: document.toJS() as Manifest };
    }),
  );
}

export function loadYaml(path: string): unknown {
  return parse(readFileSync(join(DEPLOY_DIR, path), 'utf8'), { merge: true });
}

/** A size like `256mb` in MiB (kb/mb/gb are powers of 1024, as the CLI reads them). */
export function mebibytes(size: string): number {
  const match = /^(\d+)(kb|mb|gb)$/i.exec(size);
  if (!match) throw new Error(`size like 256mb expected, got ${size}`);
  const unit = match[2]!.toLowerCase();
  return (Number(match[1]) * { kb: 1 / 1024, mb: 1, gb: 1024 }[unit]!) as number;
}

/**
 * deploy/README.md's sizing for a --max-memory: the V8 heap, the container's memory limit, and
 * the shortest stop grace period (the node's --shutdown-grace, in ms, + 10 s of in-flight
 * requests + 2 minutes per GiB for the save).
 */
export function sizing(
  maxMemory: string,
  shutdownGraceMs = 0,
): {
  heapMiB: number;
  limitMiB: number;
  graceSeconds: number;
} {
  const mib = mebibytes(maxMemory);
  return {
    heapMiB: Math.ceil(2.5 * mib + 64),
    limitMiB: Math.ceil(7.5 * mib + 192),
    graceSeconds: Math.ceil(shutdownGraceMs / 1000 + 10 + (120 * mib) / 1024),
  };
}

/**
 * The README's "Rolling restarts" rule: how long a node back from a restart takes to be restored
 * by the clients, who page through the other nodes' keys at `restoreRate` (50,000 a second by
 * default), at most 5,000 entries per MiB of `--max-memory` (the most measured: short keys, 100-byte
 * values), plus one discovery interval (5 s) for the clients to see the node back.
 */
export function restoreSeconds(maxMemory: string, nodes: number): number {
  const entriesPerNode = 5000 * mebibytes(maxMemory);
  return Math.ceil(((nodes - 1) * entriesPerNode) / 50_000 + 5);
}
