// Benchmark of `netpol-profiles status` (the real CLI process) against the test API server in this
// process, holding 10,000 namespaces with a profile and two access labels each and every generated
// policy in sync. Prints wall time and peak RSS (from /usr/bin/time) for the whole cluster (table
// and JSON) and for one namespace (-n). Run: npm run bench:status  (BENCH_NAMESPACES to change it)

import { execFile } from 'node:child_process';
import { makeRenderConfig } from '../src/config.js';
import { renderAll } from '../src/render/render.js';
import { benchNamespaces } from './fixtures.js';
import { startServerWithCatalog } from '../test/support/operator-harness.js';
import { CLI, defaultCatalog } from '../test/support/project.js';

const COUNT = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

interface Run {
  code: number;
  ms: number;
  maxRssKiB: number;
  bytes: number;
}

/** Runs the CLI under /usr/bin/time (asynchronously: the API server lives in this process). */
function runStatus(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const start = performance.now();
    execFile('/usr/bin/time', ['-f', 'maxrss=%M', process.execPath, CLI, 'status', ...args], { maxBuffer: 512 * 1024 * 1024 }, (error, stdout, stderr) => {
      const ms = performance.now() - start;
      const maxRssKiB = Number(/maxrss=(\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, ms, maxRssKiB, bytes: stdout.length });
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const server = await startServerWithCatalog();
  const namespaces = benchNamespaces(COUNT);
  for (const ns of namespaces) server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...ns.labels } } });
  const objects = renderAll(namespaces, defaultCatalog(), makeRenderConfig()).objects;
  for (const object of objects) server.apply(object as never);
  server.apply({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'netpol-profiles', namespace: 'netpol-profiles' },
    spec: { holderIdentity: 'bench', leaseDurationSeconds: 3600, renewTime: new Date().toISOString().replace('Z', '000Z') },
  });
  console.log(`status benchmark: ${COUNT} namespaces, ${objects.length} generated objects in sync, ${RUNS} runs each`);

  for (const [label, args] of [
    ['whole cluster, table', ['-o', 'table']],
    ['whole cluster, json', ['-o', 'json']],
    ['one namespace (-n)', ['-n', 'team-7']],
  ] as const) {
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runStatus(['--kubeconfig', server.kubeconfigPath, ...args]));
    const codes = [...new Set(runs.map((r) => r.code))].join(',');
    console.log(
      `  ${label.padEnd(22)} median ${(median(runs.map((r) => r.ms)) / 1000).toFixed(2)} s, peak RSS ${(median(runs.map((r) => r.maxRssKiB)) / 1024).toFixed(0)} MiB, output ${runs[0]!.bytes.toLocaleString('en')} bytes, exit ${codes}`,
    );
  }
  await server.stop();
}

await main();
