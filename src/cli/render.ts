// `netpol-profiles render`: offline, prints every object the operator would create for the given
// catalog and namespace files. Exit 0 when everything is valid; 1 when any input or label has a
// problem (each listed as `file: subject: reason` on stderr); 2 on usage errors.

import { buildCatalog, describeSkipped, formatProblem, readDocuments, sortDocuments, type InputProblem } from '../catalog/load.js';
import { describeUnknownKey, offlineMessage, unknownLabelKeys } from '../labels.js';
import { renderAll } from '../render/render.js';
import { formatObjects, OUTPUT_FORMATS, type OutputFormat } from '../render/output.js';
import { formatHelp, parseFlags, RENDER_CONFIG_FLAGS, renderConfigFromFlags, UsageError, type FlagSpecs } from './flags.js';
import type { CommandIO } from './io.js';

/** How every command that reads catalog and Namespace files reads them (render, simulate, diagnose). */
export const INPUT_FLAGS: FlagSpecs = {
  recursive: { type: 'boolean', short: 'R', help: 'read directories with their subdirectories (as kubectl -R)' },
  'skip-other-kinds': {
    type: 'boolean',
    help: 'leave out documents of other kinds (a whole kustomize build or app folder as input); counted on stderr',
  },
};

const RENDER_FLAGS: FlagSpecs = {
  catalog: { type: 'string', multiple: true, valueName: 'PATH', help: 'catalog file or directory (repeatable; required)' },
  namespaces: { type: 'string', multiple: true, valueName: 'PATH', help: 'Namespace file or directory, or - for stdin (repeatable)' },
  output: { type: 'string', short: 'o', default: 'yaml', valueName: 'yaml|json', help: 'output format' },
  ...INPUT_FLAGS,
  'allow-unknown-keys': {
    type: 'boolean',
    help: 'label keys in the label domain that netpol-profiles does not know are warnings only (exit 0)',
  },
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const RENDER_HELP = formatHelp(
  'netpol-profiles render --catalog PATH... [--namespaces PATH...|-] [-R] [--skip-other-kinds] [-o yaml|json]',
  'Prints every CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy the operator would create\n' +
    'for these catalog and Namespace files, in a stable order. Exit 1 when anything is wrong, with\n' +
    'every problem of every file on stderr: input problems (nothing is printed), label problems and\n' +
    'unknown label keys of the label domain (objects for everything valid are printed). When stdout\n' +
    'is a terminal, the problems are repeated at the end.',
  RENDER_FLAGS,
);

const plural = (count: number, word: string, many = `${word}s`): string => `${count} ${count === 1 ? word : many}`;

export function renderCommand(argv: readonly string[], io: CommandIO): number {
  const values = parseFlags(argv, RENDER_FLAGS, io.env);
  if (values.help) {
    io.stdout(RENDER_HELP);
    return 0;
  }
  const catalogPaths = (values.catalog as string[] | undefined) ?? [];
  const namespacePaths = (values.namespaces as string[] | undefined) ?? [];
  if (catalogPaths.length === 0) throw new UsageError('render needs at least one --catalog PATH');
  const format = values.output as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new UsageError(`--output must be yaml or json, not ${JSON.stringify(format)}`);
  if ([...catalogPaths, ...namespacePaths].filter((p) => p === '-').length > 1) throw new UsageError('- (stdin) can be given only once');
  const config = renderConfigFromFlags(values);
  const allowUnknownKeys = values['allow-unknown-keys'] === true;

  const { documents, problems: readProblems } = readDocuments([...catalogPaths, ...namespacePaths], io.readStdin, { recursive: values.recursive === true });
  const sorted = sortDocuments(documents, { skipOtherKinds: values['skip-other-kinds'] === true });
  const { catalog, problems: catalogProblems } = buildCatalog(sorted.catalogObjects);
  const inputProblems: InputProblem[] = [...readProblems, ...sorted.problems, ...catalogProblems];

  // Every problem of every file, input problems or not: the label problems of the namespaces that
  // could be read are found with the catalog objects that are valid.
  const result = renderAll(sorted.namespaces, catalog, config);
  const sourceOf = new Map(sorted.namespaces.map((ns) => [ns.name, ns]));
  const lines: string[] = inputProblems.map((problem) => formatProblem(problem));
  // Label problems and unknown keys, grouped by file and namespace in input order.
  const order = new Map(sorted.namespaces.map((ns, index) => [ns.name, index]));
  const namespaceLines: Array<{ at: number; line: string }> = [];
  let labelProblems = 0;
  for (const intent of result.namespaces) {
    const source = sourceOf.get(intent.namespace)?.source;
    for (const problem of intent.problems) {
      labelProblems++;
      namespaceLines.push({ at: order.get(intent.namespace) ?? 0, line: `${source}: ${intent.namespace}: ${problem.reason}: ${problem.label}: ${offlineMessage(problem)}` });
    }
  }
  let unknownKeys = 0;
  sorted.namespaces.forEach((namespace, at) => {
    for (const unknown of unknownLabelKeys(namespace.labels, config.keys)) {
      unknownKeys++;
      const severity = allowUnknownKeys ? 'warning: ' : '';
      namespaceLines.push({ at, line: `${namespace.source}: ${namespace.name}: ${severity}UnknownLabelKey: ${unknown.label}: ${describeUnknownKey(unknown, config.keys)}` });
    }
  });
  lines.push(...namespaceLines.sort((a, b) => a.at - b.at).map((entry) => entry.line));
  for (const line of lines) io.stderr(`${line}\n`);
  if (sorted.skipped.size > 0) {
    const count = [...sorted.skipped.values()].reduce((a, b) => a + b, 0);
    io.stderr(`render: skipped ${plural(count, 'object')} of other kinds: ${describeSkipped(sorted.skipped)}\n`);
  }

  const counted = [
    inputProblems.length > 0 ? plural(inputProblems.length, 'input problem') : '',
    labelProblems > 0 ? plural(labelProblems, 'label problem') : '',
    unknownKeys > 0 ? `${plural(unknownKeys, 'unknown label key')}${allowUnknownKeys ? ' (allowed)' : ''}` : '',
  ].filter(Boolean);
  const failed = inputProblems.length > 0 || labelProblems > 0 || (unknownKeys > 0 && !allowUnknownKeys);
  let summary: string | undefined;
  if (inputProblems.length > 0) {
    // The input is not what its author thinks it is: print nothing rather than a partial answer.
    summary = `render: ${counted.join(', ')}; nothing rendered`;
  } else {
    io.stdout(formatObjects(result.objects, format));
    if (counted.length > 0) summary = `render: ${counted.join(', ')}; objects for everything valid were printed`;
  }
  if (summary === undefined) return 0;
  if (io.stdoutIsTerminal && lines.length > 0 && inputProblems.length === 0) {
    // In a terminal the lines above have scrolled away behind the objects: say them again, last.
    io.stderr(`\nrender: the problems again (they were printed before the objects):\n`);
    for (const line of lines) io.stderr(`${line}\n`);
  }
  io.stderr(`${summary}\n`);
  return failed ? 1 : 0;
}
