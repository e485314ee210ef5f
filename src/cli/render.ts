// `netpol-profiles render`: offline, prints every object the operator would create for the given
// catalog and namespace files. Exit 0 when everything is valid; 1 when any input or label has a
// problem (each listed as `file: subject: reason` on stderr); 2 on usage errors.

import { DEFAULT_OPERATOR_NAMESPACE, DEFAULT_PROTECTED_NAMESPACES, labelDomainProblem, makeRenderConfig, DEFAULT_LABEL_DOMAIN } from '../config.js';
import { buildCatalog, formatProblem, readDocuments, sortDocuments, type InputProblem } from '../catalog/load.js';
import { renderAll } from '../render/render.js';
import { formatObjects, OUTPUT_FORMATS, type OutputFormat } from '../render/output.js';
import { formatHelp, listFlag, parseFlags, UsageError, type FlagSpecs } from './flags.js';
import type { CommandIO } from './io.js';

/** Flags that shape rendering; `run` takes the same ones. */
export const RENDER_CONFIG_FLAGS: FlagSpecs = {
  'label-domain': { type: 'string', env: true, default: DEFAULT_LABEL_DOMAIN, valueName: 'DOMAIN', help: 'domain of the namespace labels' },
  'protected-namespaces': {
    type: 'string',
    env: true,
    default: DEFAULT_PROTECTED_NAMESPACES.join(','),
    valueName: 'NS,...',
    help: 'namespaces that never get profile or access policies (the operator namespace is always added)',
  },
  'operator-namespace': {
    type: 'string',
    env: true,
    default: DEFAULT_OPERATOR_NAMESPACE,
    valueName: 'NS',
    help: "the operator's own namespace (protected)",
  },
};

const RENDER_FLAGS: FlagSpecs = {
  catalog: { type: 'string', multiple: true, valueName: 'PATH', help: 'catalog file or directory (repeatable; required)' },
  namespaces: { type: 'string', multiple: true, valueName: 'PATH', help: 'Namespace file or directory, or - for stdin (repeatable)' },
  output: { type: 'string', short: 'o', default: 'yaml', valueName: 'yaml|json', help: 'output format' },
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const RENDER_HELP = formatHelp(
  'netpol-profiles render --catalog PATH... [--namespaces PATH...|-] [-o yaml|json]',
  'Prints every CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy the operator would create\n' +
    'for these catalog and Namespace files, in a stable order. Label problems are listed on stderr\n' +
    'and make the exit code 1; objects for everything valid are still printed.',
  RENDER_FLAGS,
);

export function renderConfigFromFlags(values: Record<string, unknown>): ReturnType<typeof makeRenderConfig> {
  const labelDomain = String(values['label-domain']);
  const problem = labelDomainProblem(labelDomain);
  if (problem) throw new UsageError(`--label-domain: ${problem}`);
  return makeRenderConfig({
    labelDomain,
    protectedNamespaces: listFlag(values['protected-namespaces'] as string),
    operatorNamespace: String(values['operator-namespace']),
  });
}

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

  const { documents, problems: readProblems } = readDocuments([...catalogPaths, ...namespacePaths], io.readStdin);
  const sorted = sortDocuments(documents);
  const { catalog, problems: catalogProblems } = buildCatalog(sorted.catalogObjects);
  const inputProblems: InputProblem[] = [...readProblems, ...sorted.problems, ...catalogProblems];
  if (inputProblems.length > 0) {
    // The input is not what its author thinks it is: print nothing rather than a partial answer.
    for (const problem of inputProblems) io.stderr(`${formatProblem(problem)}\n`);
    io.stderr(`render: ${inputProblems.length} input problem${inputProblems.length === 1 ? '' : 's'}; nothing rendered\n`);
    return 1;
  }

  const result = renderAll(sorted.namespaces, catalog, config);
  const sourceOf = new Map(sorted.namespaces.map((ns) => [ns.name, ns.source]));
  let labelProblems = 0;
  for (const intent of result.namespaces) {
    for (const problem of intent.problems) {
      labelProblems++;
      io.stderr(`${sourceOf.get(intent.namespace)}: ${intent.namespace}: ${problem.reason}: ${problem.label}: ${problem.message}\n`);
    }
  }
  io.stdout(formatObjects(result.objects, format));
  if (labelProblems > 0) {
    io.stderr(`render: ${labelProblems} label problem${labelProblems === 1 ? '' : 's'}; objects for everything valid were printed\n`);
    return 1;
  }
  return 0;
}
