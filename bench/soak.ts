// Churn soak of the operator (the real CLI process, `netpol-profiles run`) against the test API server
// in this process: 2,000 namespaces granted a `manageIngress` SharedService, grants toggled at 20/s
// for 10 minutes. Every grant change rewrites `access-web-ingress` (a spec listing every granted
// namespace, ~55 KB) and creates or deletes an `access-web`. Prints the operator's RSS every 30 s and
// a summary of the second half, then checks that the cluster converged.
// Run: npm run bench:soak  (BENCH_SOAK_SECONDS, BENCH_SOAK_NAMESPACES, BENCH_SOAK_RATE to change it)

import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../src/config.js';
import { TestApiServer } from '../test/support/apiserver/server.js';
import { seededRandom } from '../test/support/apiserver/faults.js';
import { expectedObjects, ownedObjects, startServerWithCatalog } from '../test/support/operator-harness.js';
import { D, rssMiB, spawnOperator } from './fixtures.js';

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 600);
const COUNT = Number(process.env.BENCH_SOAK_NAMESPACES ?? 2_000);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 20);
const REPORT_EVERY_MS = 30_000;
const OPERATOR_NODE_OPTIONS = process.env.BENCH_OPERATOR_NODE_OPTIONS ?? '--max-semi-space-size=2';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const SERVICE = 'web';
const namespaceName = (i: number) => `team-${i}`;
const labels = (i: number, granted: boolean): Record<string, string> => ({
  [`${D}/profile`]: ['isolated', 'internal', 'internal-egress', 'standard'][i % 4]!,
  ...(granted ? { [`access.${D}/${SERVICE}`]: 'true' } : {}),
});

function seed(server: TestApiServer): boolean[] {
  server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'webns' } });
  server.apply({
    apiVersion: `${D}/v1alpha1`,
    kind: 'SharedService',
    metadata: { name: SERVICE },
    spec: { description: 'soak', namespace: 'webns', podSelector: { matchLabels: { app: 'web' } }, ports: [{ port: '8080', protocol: 'TCP' }], manageIngress: true },
  });
  const granted = Array.from({ length: COUNT }, () => true);
  for (let i = 0; i < COUNT; i++) server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(i), labels: labels(i, true) } });
  return granted;
}

async function heapUsedMiB(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^nodejs_heap_size_used_bytes ([0-9.e+]+)$/m.exec(text)?.[1] ?? NaN) / 2 ** 20;
}

/** Slope of the least-squares line through (x, y): a trend less fooled by GC's sawtooth than first-to-last. */
function leastSquaresSlope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

async function converged(server: TestApiServer, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const actual = ownedObjects(server);
    const expected = expectedObjects(server);
    if (actual.size === expected.size && [...expected].every(([key, spec]) => JSON.stringify(actual.get(key)) === JSON.stringify(spec))) return true;
    if (Date.now() > deadline) return false;
    await sleep(1_000);
  }
}

async function main(): Promise<void> {
  console.log(`bench/soak: ${COUNT} namespaces granted SharedService ${SERVICE} (manageIngress), grants toggled at ${RATE}/s for ${SECONDS} s; Node ${process.version}, operator NODE_OPTIONS="${OPERATOR_NODE_OPTIONS}"`);
  // A short history keeps this process's own memory in check (every toggle stores a ~55 KB spec).
  const server = await startServerWithCatalog({ bookmarkIntervalMs: 5_000, historyLimit: 5_000 });
  const granted = seed(server);
  const operator = spawnOperator(server, OPERATOR_NODE_OPTIONS);
  const port = await operator.metricsPort;
  const syncStart = performance.now();
  const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  while (server.list('cilium.io/v2', 'ciliumnetworkpolicies', undefined, { labelSelector: managed }).length < 2 * COUNT + 1) await sleep(500);
  console.log(`  synced: ${2 * COUNT + 1} policies in ${((performance.now() - syncStart) / 1000).toFixed(1)} s; RSS ${rssMiB(operator.child.pid!).toFixed(0)} MiB`);

  const random = seededRandom(11);
  const samples: Array<{ seconds: number; rss: number; heap: number }> = [];
  const start = performance.now();
  let toggles = 0;
  let nextReport = REPORT_EVERY_MS;
  const mark = server.requests.mark();
  while (performance.now() - start < SECONDS * 1000) {
    const i = Math.floor(random() * COUNT);
    granted[i] = !granted[i];
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(i), labels: labels(i, granted[i]!) } });
    toggles++;
    const elapsed = performance.now() - start;
    if (elapsed >= nextReport) {
      const sample = { seconds: Math.round(elapsed / 1000), rss: rssMiB(operator.child.pid!), heap: await heapUsedMiB(port) };
      samples.push(sample);
      const writes = server.requests.writes({ since: mark, group: 'cilium.io' }).length;
      console.log(`  ${String(sample.seconds).padStart(4)} s: RSS ${sample.rss.toFixed(0)} MiB, heap used ${sample.heap.toFixed(0)} MiB; ${toggles} grant changes, ${writes} policy writes`);
      nextReport += REPORT_EVERY_MS;
    }
    await sleep(Math.max(0, toggles * (1000 / RATE) - (performance.now() - start)));
  }
  samples.push({ seconds: SECONDS, rss: rssMiB(operator.child.pid!), heap: await heapUsedMiB(port) });
  console.log(`  ${String(SECONDS).padStart(4)} s: RSS ${samples.at(-1)!.rss.toFixed(0)} MiB, heap used ${samples.at(-1)!.heap.toFixed(0)} MiB; ${toggles} grant changes (end of churn)`);

  const secondHalf = samples.filter((sample) => sample.seconds > SECONDS / 2);
  if (secondHalf.length > 1) {
    const rss = secondHalf.map((sample) => sample.rss);
    const heap = secondHalf.map((sample) => sample.heap);
    const trend = (values: number[]) => leastSquaresSlope(secondHalf.map((sample) => sample.seconds), values) * 60;
    const signed = (value: number) => `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
    console.log(
      `  second half: RSS min ${Math.min(...rss).toFixed(0)} MiB, max ${Math.max(...rss).toFixed(0)} MiB, trend ${signed(trend(rss))} MiB/min; ` +
        `heap used min ${Math.min(...heap).toFixed(0)} MiB, max ${Math.max(...heap).toFixed(0)} MiB, trend ${signed(trend(heap))} MiB/min`,
    );
  }
  const ok = await converged(server, 120_000);
  console.log(`  after the churn: ${ok ? 'converged' : 'NOT converged within 120 s'}; RSS ${rssMiB(operator.child.pid!).toFixed(0)} MiB`);
  operator.child.kill('SIGTERM');
  await operator.exit;
  await server.stop();
  if (!ok) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench/soak: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
