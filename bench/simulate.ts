// Benchmark of `simulate --matrix`: 1,000 namespaces (each with a profile and two access labels,
// as the other benchmarks) plus the platform's namespaces, against the default catalog. Every
// namespace's pod against every namespace, the internet, the API server, DNS and each shared
// service: a million cells and more. Prints the time to build the scenario, cells per second of
// the engine (one core: Node runs it on one thread), the time and bytes of the table output, and
// peak memory. Run: npm run bench:simulate
import { makeRenderConfig } from '../src/config.js';
import { matrixPlan, runMatrix } from '../src/simulate/matrix.js';
import { writeMatrix } from '../src/simulate/format.js';
import { buildScenario } from '../src/simulate/scenario.js';
import { defaultCatalog } from '../test/support/project.js';
import { benchNamespaces } from './fixtures.js';

const COUNT = Number(process.env.BENCH_NAMESPACES ?? 1_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PLATFORM = ['database', 'cache', 'garage', 'kube-system', 'monitoring', 'istio-gateway', 'istio-system'];

let peakRss = process.memoryUsage().rss;
const sample = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};
const sampler = setInterval(sample, 5);
const seconds = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;

const catalog = defaultCatalog();
const namespaces = [...benchNamespaces(COUNT), ...PLATFORM.map((name) => ({ name, labels: {} }))];

let build = Infinity;
let matrix = Infinity;
let output = Infinity;
let cells = 0;
let bytes = 0;
let allowed = 0;
for (let round = 0; round < ROUNDS; round++) {
  (globalThis as { gc?: () => void }).gc?.();
  let start = process.hrtime.bigint();
  const scenario = buildScenario({ catalog, namespaces, config: makeRenderConfig(), otherPolicies: [] });
  const plan = matrixPlan(namespaces.map((ns) => ns.name), catalog, [], { port: 8080, protocol: 'TCP' });
  build = Math.min(build, seconds(start));
  sample();
  start = process.hrtime.bigint();
  const result = runMatrix(scenario.engine, plan);
  matrix = Math.min(matrix, seconds(start));
  sample();
  cells = result.length;
  allowed = result.reduce((sum, code) => sum + (code === 1 ? 1 : 0), 0);
  start = process.hrtime.bigint();
  let written = 0;
  writeMatrix(plan, result, 'table', (text) => {
    written += Buffer.byteLength(text);
  });
  output = Math.min(output, seconds(start));
  bytes = written;
  sample();
}
clearInterval(sampler);

const mib = (value: number) => `${(value / 2 ** 20).toFixed(0)} MiB`;
console.log(`bench/simulate: --matrix over ${COUNT} namespaces + ${PLATFORM.length} platform ones, default catalog, best of ${ROUNDS} rounds, Node ${process.version}`);
console.log(`  cells:                 ${cells.toLocaleString('en-US')} (${allowed.toLocaleString('en-US')} allowed)`);
console.log(`  render + engine setup: ${build.toFixed(2)} s`);
console.log(`  matrix (engine):       ${matrix.toFixed(2)} s = ${Math.round(cells / matrix).toLocaleString('en-US')} cells/s`);
console.log(`  table output:          ${output.toFixed(2)} s, ${mib(bytes)}`);
console.log(`  peak RSS:              ${mib(peakRss)}`);
