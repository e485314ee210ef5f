// Benchmark of the operator (the real CLI process, `netpol-profiles run`) against the test API
// server in this process: 10,000 namespaces, each with a profile and two access labels. Prints
// cold-sync time and writes next to the API server's own floor for the same creates, restart-in-sync
// time and writes, label-change-to-policy latency (steady state and during a cold sync), and the
// operator's RSS after sync. Run: npm run bench:operator  (BENCH_NAMESPACES to change the size)

import { writeFileSync } from 'node:fs';
import { HttpKubeApi } from '../src/kube/http-api.js';
import { RESOURCES } from '../src/kube/resources.js';
import type { PolicyObject } from '../src/kube/types.js';
import { makeRenderConfig, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../src/config.js';
import { renderAll, type NamespaceInput } from '../src/render/render.js';
import { TestApiServer } from '../test/support/apiserver/server.js';
import { defaultCatalog } from '../test/support/project.js';
import { startServerWithCatalog } from '../test/support/operator-harness.js';
import { benchLabels, benchNamespaces, D, rssMiB, spawnOperator } from './fixtures.js';

const COUNT = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
/** When set, the run's writes are saved there (sorted), to compare two versions of the operator: same writes, same log. */
const WRITES_FILE = process.env.BENCH_WRITES_FILE;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPERATOR_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? '--max-semi-space-size=2';
const startOperator = (server: TestApiServer) => spawnOperator(server, OPERATOR_NODE_OPTIONS);

const namespaces: NamespaceInput[] = benchNamespaces(COUNT);
const expected = renderAll(namespaces, defaultCatalog(), makeRenderConfig()).objects;

function seed(server: TestApiServer): void {
  for (const ns of namespaces) server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns.name, labels: { ...ns.labels } } });
}

function ownedCount(server: TestApiServer): number {
  const selector = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` };
  return server.list('cilium.io/v2', 'ciliumnetworkpolicies', undefined, selector).length + server.list('cilium.io/v2', 'ciliumclusterwidenetworkpolicies', undefined, selector).length;
}

/** The API server's floor: the same creates sent straight from a client at the operator's concurrency. */
async function floor(concurrency: number): Promise<number> {
  const server = await startServerWithCatalog();
  seed(server);
  const api = new HttpKubeApi(server.kubeConfig());
  const start = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < expected.length) {
        const object = expected[next++]!;
        await api.create(object.kind === 'CiliumNetworkPolicy' ? RESOURCES.ciliumNetworkPolicies : RESOURCES.ciliumClusterwideNetworkPolicies, object);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  await server.stop();
  return seconds;
}

/** The operator's own view of its memory, from its /metrics. */
async function heapMiB(port: number): Promise<string> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
  return `heap used ${value('nodejs_heap_size_used_bytes').toFixed(0)} MiB of ${value('nodejs_heap_size_total_bytes').toFixed(0)} MiB`;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}

/** Writes the operator sent for policies, and for catalog objects (status, finalizers). Lease renewals and Events are not counted. */
function writes(server: TestApiServer, since: number): { policies: number; catalog: number } {
  const all = server.requests.writes({ since });
  return { policies: all.filter((r) => r.group === 'cilium.io').length, catalog: all.filter((r) => r.group === 'network-policy.homelab').length };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Relabels namespaces one by one and times label change → new profile policy seen by a watch. */
async function labelLatencies(server: TestApiServer, samples: number, offset: number): Promise<number[]> {
  const api = new HttpKubeApi(server.kubeConfig());
  const pending = new Map<string, { started: number; resolve: (ms: number) => void }>();
  const stop = new AbortController();
  const listed = await api.list<PolicyObject>(RESOURCES.ciliumNetworkPolicies, { limit: 1 });
  const watching = api.watch<PolicyObject>(
    RESOURCES.ciliumNetworkPolicies,
    { resourceVersion: listed.resourceVersion, labelSelector: `${D}/generated-from=profile.standard` },
    {
      onEvent: (type, object) => {
        const wait = type === 'ADDED' ? pending.get(object.metadata.namespace ?? '') : undefined;
        if (wait) wait.resolve(performance.now() - wait.started);
      },
    },
    stop.signal,
  ).catch(() => undefined);
  const latencies: number[] = [];
  for (let s = 0; s < samples; s++) {
    const i = (offset + s * 4) % COUNT; // profile `isolated` namespaces, relabelled to `standard`
    const name = `team-${i - (i % 4)}`;
    const seen = new Promise<number>((resolve) => pending.set(name, { started: performance.now(), resolve }));
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: benchLabels(i - (i % 4), 'standard') } });
    latencies.push(await seen);
    pending.delete(name);
    await sleep(2);
  }
  stop.abort();
  await watching;
  return latencies;
}

async function main(): Promise<void> {
  console.log(`bench/operator: ${COUNT} namespaces (profile + 2 access labels), ${expected.length} objects to create, Node ${process.version}, operator NODE_OPTIONS="${OPERATOR_NODE_OPTIONS}"`);
  const floorSeconds = await floor(4);
  console.log(`  API server floor (same creates, client at concurrency 4): ${floorSeconds.toFixed(2)} s, ${Math.round(expected.length / floorSeconds)} creates/s`);

  const server = await startServerWithCatalog({ bookmarkIntervalMs: 5_000 });
  seed(server);
  let mark = server.requests.mark();
  let start = performance.now();
  let operator = startOperator(server);
  // Latency during a cold sync: live label changes must overtake the start-up backlog.
  // Progress is read from the request log: listing 30,000 objects from the in-process server (which
  // copies them out) every few milliseconds would slow the very server being measured.
  const created = () => server.requests.query({ since: mark, verb: 'create', group: 'cilium.io', code: 201 }).length;
  await waitFor(() => created() > 100, 60_000);
  const duringSync = await labelLatencies(server, Math.min(50, SAMPLES), 0);
  await waitFor(() => created() >= expected.length, 300_000);
  const coldSeconds = (performance.now() - start) / 1000;
  await sleep(1500);
  const coldWrites = writes(server, mark);
  const rss = rssMiB(operator.child.pid!);
  const heap = await heapMiB(await operator.metricsPort);
  console.log(`  cold sync: ${coldSeconds.toFixed(2)} s to ${ownedCount(server)} objects; policy writes ${coldWrites.policies} (objects created: ${expected.length}), catalog status/finalizer writes ${coldWrites.catalog}`);
  console.log(`  label change → policy during cold sync: p50 ${percentile(duringSync, 50).toFixed(1)} ms, p99 ${percentile(duringSync, 99).toFixed(1)} ms (${duringSync.length} samples)`);
  console.log(`  operator RSS after sync: ${rss.toFixed(0)} MiB (${heap})`);

  const steady = await labelLatencies(server, SAMPLES, 400);
  console.log(`  label change → policy, steady state: p50 ${percentile(steady, 50).toFixed(1)} ms, p99 ${percentile(steady, 99).toFixed(1)} ms (${steady.length} samples)`);
  await sleep(10_000);
  console.log(`  operator RSS after 10 s more of steady state: ${rssMiB(operator.child.pid!).toFixed(0)} MiB (${await heapMiB(await operator.metricsPort)})`);

  operator.child.kill('SIGTERM');
  await operator.exit;
  mark = server.requests.mark();
  start = performance.now();
  operator = startOperator(server);
  // Ready = the caches synced (the namespace list has been read); then give it time to reconcile all.
  await waitFor(() => server.requests.query({ since: mark, verb: 'watch', resource: 'namespaces' }).length > 0, 120_000);
  const restartReady = (performance.now() - start) / 1000;
  await sleep(5_000);
  const after = writes(server, mark);
  console.log(`  restart in sync: ready (watching) after ${restartReady.toFixed(2)} s; writes in the next 5 s: ${after.policies} policy, ${after.catalog} catalog`);
  operator.child.kill('SIGTERM');
  await operator.exit;
  if (WRITES_FILE) saveWrites(server, WRITES_FILE);
  await server.stop();
}

/**
 * Every write of the run but Lease renewals and Events: policy writes (one line each: their number
 * must not change) and catalog status and finalizer writes (one line per object and verb: how many
 * status writes a sync coalesces into depends on timing).
 */
function saveWrites(server: TestApiServer, file: string): void {
  const policies: string[] = [];
  const catalog = new Set<string>();
  for (const r of server.requests.writes({ since: 0 })) {
    const line = `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace ?? ''}/${r.name ?? ''} ${r.code}`;
    if (r.group === 'cilium.io' || r.resource === 'configmaps') policies.push(line);
    else if (r.group === 'network-policy.homelab') catalog.add(line);
  }
  writeFileSync(file, [...policies.sort(), ...[...catalog].sort()].join('\n') + '\n');
  console.log(`  writes saved to ${file}: ${policies.length} policy and record writes, ${catalog.size} distinct catalog writes`);
}

main().catch((error: unknown) => {
  console.error(`bench/operator: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
