// The benchmarks' cluster: namespaces team-0 … team-N, each with one of the four default profiles
// and two access labels, so every profile and shared service is in use.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { NamespaceInput } from '../src/render/render.js';
import type { TestApiServer } from '../test/support/apiserver/server.js';
import { CLI } from '../test/support/project.js';

export const D = 'network-policy.homelab';
const PROFILES = ['isolated', 'internal', 'internal-egress', 'standard'];
const SERVICES = ['postgres', 'dragonfly', 'garage-s3', 'kube-api'];

export function benchLabels(i: number, profile = PROFILES[i % PROFILES.length]!): Record<string, string> {
  return {
    [`${D}/profile`]: profile,
    [`access.${D}/${SERVICES[i % SERVICES.length]}`]: 'true',
    [`access.${D}/${SERVICES[(i + 1) % SERVICES.length]}`]: 'true',
  };
}

export function benchNamespaces(count: number): NamespaceInput[] {
  return Array.from({ length: count }, (_, i) => ({ name: `team-${i}`, labels: benchLabels(i) }));
}

/** Namespaces as a multi-document YAML file, as a GitOps repository holds them. */
export function namespacesYaml(namespaces: readonly NamespaceInput[]): string {
  return namespaces
    .map((ns) => `---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns.name}\n  labels:\n${Object.entries(ns.labels).map(([key, value]) => `    ${key}: "${value}"\n`).join('')}`)
    .join('');
}

/**
 * The operator as it runs in a pod (the real CLI, its own process) against `server`, without leader
 * election, with the V8 options it is meant to run with (see docs/design.md, "Memory"); set
 * BENCH_OPERATOR_NODE_OPTIONS="" to measure Node's defaults instead.
 */
export function spawnOperator(server: TestApiServer, nodeOptions: string): { child: ChildProcess; exit: Promise<number | null>; metricsPort: Promise<number> } {
  const child = spawn(process.execPath, [CLI, 'run', '--kubeconfig', server.kubeconfigPath, '--leader-elect', 'false', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0', '--log-level', 'info'], {
    env: { PATH: process.env.PATH ?? '', POD_NAMESPACE: 'netpol-profiles', NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffer = '';
  const metricsPort = new Promise<number>((resolve) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const match = /"metricsPort":(\d+)/.exec(buffer);
      if (match) resolve(Number(match[1]));
      if (buffer.length > 100_000) buffer = buffer.slice(-1000);
    });
  });
  return { child, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))), metricsPort };
}

/** Resident set size of a process, from /proc. */
export function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}
