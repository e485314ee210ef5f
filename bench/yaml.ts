// The YAML candidates for `render`, measured on the benchmark's 10,000 namespaces (30,004 objects):
// writing the objects (the `yaml` package as render used it, its Document API, js-yaml's dump, and
// our own emitter for plain data) and reading the Namespace file (the `yaml` package's documents,
// its lexer and parser alone, and js-yaml). Each writer is also compared with the `yaml` package's
// output byte for byte: only an identical one can replace it. Run: npm run bench:yaml
import { dump, loadAll } from 'js-yaml';
import { Document, Parser, parseAllDocuments, stringify } from 'yaml';
import { makeRenderConfig } from '../src/config.js';
import { renderAll } from '../src/render/render.js';
import { emitYaml } from '../src/render/yaml-emit.js';
import { defaultCatalog } from '../test/support/project.js';
import { benchNamespaces, namespacesYaml } from './fixtures.js';

const COUNT = Number(process.env.BENCH_NAMESPACES ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const objects = renderAll(benchNamespaces(COUNT), defaultCatalog(), makeRenderConfig()).objects;
const input = namespacesYaml(benchNamespaces(COUNT));

function median(work: () => unknown): { ms: number; result: unknown } {
  const times: number[] = [];
  let result: unknown;
  for (let round = 0; round < ROUNDS; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.hrtime.bigint();
    result = work();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, result };
}

const asDocuments = (write: (object: object) => string) => objects.map((object) => `---\n${write(object)}`).join('');
const reference = asDocuments((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }));

console.log(`bench/yaml: ${COUNT} namespaces, ${objects.length} objects (${(reference.length / 2 ** 20).toFixed(1)} MiB of YAML), median of ${ROUNDS}, Node ${process.version}`);
console.log('  writing the objects:');
const writers: Array<[string, (object: object) => string]> = [
  ['yaml stringify (before)', (object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })],
  ['yaml Document.toString', (object) => new Document(object, { aliasDuplicateObjects: false }).toString({ lineWidth: 0 })],
  ['js-yaml dump', (object) => dump(object, { lineWidth: -1, noRefs: true })],
  ['own emitter (chosen)', (object) => emitYaml(object) ?? stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })],
  ['JSON (for scale)', (object) => JSON.stringify(object, null, 2)],
];
for (const [label, write] of writers) {
  const { ms, result } = median(() => asDocuments(write));
  const identical = result === reference ? 'identical' : label.startsWith('JSON') ? '—' : 'DIFFERENT output';
  console.log(`    ${label.padEnd(26)} ${ms.toFixed(0).padStart(6)} ms   ${identical}`);
}

console.log(`  reading ${COUNT} Namespaces (${(input.length / 2 ** 20).toFixed(1)} MiB):`);
const readers: Array<[string, () => unknown]> = [
  ['yaml parseAllDocuments + toJS (kept)', () => parseAllDocuments(input, { prettyErrors: true, uniqueKeys: true }).map((doc) => doc.toJS())],
  ['yaml Parser (tokens only)', () => [...new Parser().parse(input)].length],
  ['js-yaml loadAll', () => loadAll(input)],
];
for (const [label, read] of readers) console.log(`    ${label.padEnd(38)} ${median(read).ms.toFixed(0).padStart(6)} ms`);
