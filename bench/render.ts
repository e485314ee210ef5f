// Benchmark of the pure renderer: 10,000 namespaces, each with a profile and two access labels,
// against the default catalog. Prints namespaces per second (render alone, and render plus YAML and
// JSON serialisation as `render` prints it) and peak memory. Run: npm run bench:render
import { makeRenderConfig } from '../src/config.js';
import { renderAll, type NamespaceInput } from '../src/render/render.js';
import { formatObjects } from '../src/render/output.js';
import { defaultCatalog } from '../test/support/project.js';
import { benchNamespaces } from './fixtures.js';

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
