// Benchmark of the pure renderer: 10,000 namespaces, each with a profile and two access labels,
// against the default catalog. Prints namespaces per second (render alone, and render plus YAML and
// JSON serialisation as `render` prints it), peak memory, and the end to end figure a CI job sees:
// the built CLI reading a 10,000-namespace file and printing YAML (and JSON), median of several
// runs. Run: npm run bench:render
import { makeRenderConfig } from '../src/config.js';
import { renderAll, type NamespaceInput } from '../src/render/render.js';
import { formatObjects } from '../src/render/output.js';
import { defaultCatalog } from '../test/support/project.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CLI, DEFAULT_CATALOG_DIR } from '../test/support/project.js';
import { benchNamespaces, namespacesYaml } from './fixtures.js';

const COUNT = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const catalog = defaultCatalog();
const config = makeRenderConfig();
const namespaces: NamespaceInput[] = benchNamespaces(COUNT).map((ns) => ({ ...ns, labels: { ...ns.labels, 'kubernetes.io/metadata.name': ns.name } }));

let peakRss = process.memoryUsage().rss;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const sampler = setInterval(sample, 5);

function best(label: string, work: () => number): { label: string; perSecond: number; objects: number } {
  let fastest = Infinity;
  let objects = 0;
  for (let round = 0; round < ROUNDS; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.hrtime.bigint();
    objects = work();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    fastest = Math.min(fastest, seconds);
    sample();
  }
  return { label, perSecond: COUNT / fastest, objects };
}

const baselineRss = process.memoryUsage().rss;
const results = [
  best('render (pure)', () => renderAll(namespaces, catalog, config).objects.length),
  best('render + YAML output', () => formatObjects(renderAll(namespaces, catalog, config).objects, 'yaml').length),
  best('render + JSON output', () => formatObjects(renderAll(namespaces, catalog, config).objects, 'json').length),
];
clearInterval(sampler);
sample();

console.log(`bench/render: ${COUNT} namespaces (profile + 2 access labels each), default catalog, best of ${ROUNDS} rounds, Node ${process.version}`);
console.log(`  objects rendered: ${results[0]!.objects}`);
for (const result of results) console.log(`  ${result.label.padEnd(24)} ${Math.round(result.perSecond).toLocaleString('en-US').padStart(10)} namespaces/s`);
console.log(`  peak RSS: ${(peakRss / 2 ** 20).toFixed(0)} MiB (RSS before rendering: ${(baselineRss / 2 ** 20).toFixed(0)} MiB)`);

// End to end: the CLI as CI runs it, output to a file (as `> policies.yaml`).
const E2E_RUNS = Number(process.env.BENCH_E2E_RUNS ?? 5);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-render-'));
try {
  const input = path.join(dir, 'namespaces.yaml');
  writeFileSync(input, namespacesYaml(benchNamespaces(COUNT)));
  for (const format of ['yaml', 'json'] as const) {
    const seconds: number[] = [];
    let bytes = 0;
    for (let run = 0; run < E2E_RUNS; run++) {
      const start = process.hrtime.bigint();
      const result = spawnSync(process.execPath, [CLI, 'render', '--catalog', DEFAULT_CATALOG_DIR, '--namespaces', input, '-o', format], { maxBuffer: 2 ** 30 });
      seconds.push(Number(process.hrtime.bigint() - start) / 1e9);
      if (result.status !== 0) throw new Error(`render exited ${result.status}: ${String(result.stderr).split('\n')[0]}`);
      bytes = result.stdout.length;
    }
    seconds.sort((a, b) => a - b);
    const median = seconds[Math.floor(seconds.length / 2)]!;
    console.log(`  end to end, netpol-profiles render -o ${format} of ${COUNT} namespaces: ${median.toFixed(2)} s median of ${E2E_RUNS} (min ${seconds[0]!.toFixed(2)}, max ${seconds.at(-1)!.toFixed(2)}; ${(bytes / 2 ** 20).toFixed(1)} MiB out)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
