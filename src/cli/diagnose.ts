// `netpol-profiles diagnose`: reads Hubble flows (`hubble observe -o json`, a file or -), groups the
// drops, and for each group names the cause and the label change that fixes it, with the flow re-run
// through the policy engine as proof. Offline from files like `simulate`, or live with --kubeconfig
// (read-only). Exit 0 no drops; 1 drops listed; 2 usage or input error.

import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { MAX_GROUPS, readDrops } from '../diagnose/drops.js';
import { Diagnoser } from '../diagnose/explain.js';
import { formatDiagnosesJson, formatDiagnosesTable, sortDiagnosed } from '../diagnose/format.js';
import { CommandError, type FlagSpecs, formatHelp, parseFlagsAndPositionals, RENDER_CONFIG_FLAGS, renderConfigFromFlags, UsageError } from './flags.js';
import type { CommandIO } from './io.js';
import { checkWorldFlags, LIVE_FLAGS, loadWorld, reportInputProblems, WORLD_FLAGS } from './world.js';

const DIAGNOSE_FORMATS = ['table', 'json'] as const;
type DiagnoseFormat = (typeof DIAGNOSE_FORMATS)[number];

const DIAGNOSE_FLAGS: FlagSpecs = {
  ...WORLD_FLAGS,
  output: { type: 'string', short: 'o', default: 'table', valueName: 'table|json', help: 'output format' },
  ...LIVE_FLAGS,
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const DIAGNOSE_HELP = formatHelp(
  'netpol-profiles diagnose [--catalog PATH... --namespaces PATH... | --kubeconfig PATH] FILE|-',
  [
    'Reads Hubble flows as `hubble observe -o json` prints them (one JSON object a line; - for stdin),',
    'keeps the dropped ones (verdict DROPPED or AUDIT), groups them by direction, source, destination',
    'and port, and for each group says why and what to change: the cause (missing-access-label,',
    'profile-too-narrow, baseline-missing, peer-denies, explicit-deny, not-in-catalog,',
    'not-a-policy-drop, allowed-now), the namespace and labels that fix it, and the flow re-run with',
    'the fix applied as proof. Lines that are not flows are named and skipped.',
    '',
    'Exit codes: 0 no drops; 1 drops listed; 2 usage or input error (also: no flow in the input).',
    'See docs/diagnose.md.',
  ].join('\n'),
  DIAGNOSE_FLAGS,
);

export async function diagnoseCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseFlagsAndPositionals(argv, DIAGNOSE_FLAGS, io.env);
  if (values.help) {
    io.stdout(DIAGNOSE_HELP);
    return 0;
  }
  const format = values.output as DiagnoseFormat;
  if (!DIAGNOSE_FORMATS.includes(format)) throw new UsageError(`--output must be table or json, not ${JSON.stringify(format)}`);
  if (positionals.length !== 1) throw new UsageError(`expected one FILE of Hubble flows (or - for stdin), got ${positionals.length}`);
  const file = positionals[0]!;
  const config = renderConfigFromFlags(values);
  checkWorldFlags(values, 'diagnose', [file]);

  const world = await loadWorld(values, io, 'diagnose');
  if (world.problems.length > 0) {
    reportInputProblems(world.problems, 'diagnose', 'nothing diagnosed', io);
    return 2;
  }

  const read = await readDrops(openInput(file, io));
  const source = file === '-' ? '<stdin>' : file;
  for (const bad of read.badLines) io.stderr(`diagnose: ${source}:${bad.line}: ${bad.message}; skipped\n`);
  if (read.badLineCount > read.badLines.length) io.stderr(`diagnose: ${source}: ${read.badLineCount - read.badLines.length} more lines that are not flows; skipped\n`);
  if (read.ungrouped > 0) io.stderr(`diagnose: ${read.ungrouped} drops past the first ${MAX_GROUPS.toLocaleString('en-US')} distinct ones fit no group and are only counted\n`);
  if (read.flows === 0) throw new CommandError(`${source}: no Hubble flow in ${read.lines} line${read.lines === 1 ? '' : 's'} (expected the output of hubble observe -o json)`, 2);

  const diagnoser = new Diagnoser({
    catalog: world.after.catalog,
    namespaces: world.after.namespaces,
    config,
    otherPolicies: [...world.after.clusterPolicies, ...world.filePolicies],
    observedOwned: world.after.observedOwned,
  }, world.pods);
  const known = new Set(world.after.namespaces.map((ns) => ns.name));
  const unknown = new Set<string>();
  for (const group of read.groups) {
    for (const side of [group.flow.source.endpoint, group.flow.destination.endpoint]) if (side?.kind === 'pod' && !known.has(side.namespace)) unknown.add(side.namespace);
  }
  for (const name of [...unknown].sort()) io.stderr(`diagnose: warning: namespace ${JSON.stringify(name)} is not among the inputs; diagnosed as a namespace with no labels\n`);
  const items = sortDiagnosed(read.groups.map((group) => ({ group, diagnosis: diagnoser.diagnose(group.flow) })));
  if (format === 'json') io.stdout(formatDiagnosesJson(items));
  else io.stdout(items.length === 0 ? `no dropped flows among ${read.flows} flows\n` : formatDiagnosesTable(items));
  return items.length === 0 ? 0 : 1;
}

function openInput(file: string, io: CommandIO): Readable {
  if (file === '-') return io.openStdin ? io.openStdin() : Readable.from([io.readStdin()]);
  try {
    if (statSync(file).isDirectory()) throw new CommandError(`${file}: is a directory, not a file of Hubble flows`, 2);
  } catch (error) {
    if (error instanceof CommandError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new CommandError(`${file}: cannot read: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code ?? error)}`, 2);
  }
  return createReadStream(file);
}
