// `netpol-profiles simulate`: can FROM reach TO on PORT under Cilium's semantics, with the policies
// `render` produces from the same inputs plus the policies that exist besides ours? Offline from
// files like `render`, or from a live cluster with --kubeconfig (read-only; files then stand for
// proposed changes on top of it). One flow, a --flows file of expectations (a CI gate), or the
// whole --matrix, optionally as a diff against --before.
//
// Exit codes: 0 every flow allowed (with expectations: every expectation held; with --before: no
// cell changed); 1 a flow denied or unknown (an expectation failed; cells changed); 2 usage or input
// error.

import { readFileSync } from 'node:fs';
import type { Endpoint, Protocol } from '../engine/identity.js';
import { FlowError, parseFlow, parseFlowsFile, parsePort, type AskedFlow } from '../simulate/flows.js';
import {
  flowFailed,
  formatChanges,
  formatFlowsJson,
  formatFlowsTable,
  SIMULATE_FORMATS,
  writeMatrix,
  type ExplainedChange,
  type FlowResult,
  type SimulateFormat,
} from '../simulate/format.js';
import { diffMatrices, matrixPlan, runMatrix } from '../simulate/matrix.js';
import type { Scenario } from '../simulate/scenario.js';
import { CommandError, type FlagSpecs, formatHelp, parseFlagsAndPositionals, RENDER_CONFIG_FLAGS, renderConfigFromFlags, UsageError } from './flags.js';
import type { CommandIO } from './io.js';
import {
  checkWorldFlags,
  listOf,
  LIVE_FLAGS,
  loadWorld,
  reportInputProblems,
  reportLabelProblems,
  WORLD_FLAGS,
  worldScenario,
  type WorldState,
} from './world.js';

const SIMULATE_FLAGS: FlagSpecs = {
  ...WORLD_FLAGS,
  flows: { type: 'string', valueName: 'FILE', help: 'a YAML file of flows: [{from, to, port, expect: allowed|denied}]' },
  matrix: { type: 'boolean', help: 'every namespace and --pods pod against every namespace, the internet, the API server, DNS and each SharedService' },
  before: { type: 'string', multiple: true, valueName: 'PATH', help: 'with --matrix: the Namespaces (and catalog) before a change; prints only the cells that change' },
  'matrix-port': { type: 'string', default: '8080/TCP', valueName: 'PORT/PROTO', help: 'with --matrix: the port a namespace is reached on' },
  output: { type: 'string', short: 'o', default: 'table', valueName: 'table|json', help: 'output format' },
  ...LIVE_FLAGS,
  ...RENDER_CONFIG_FLAGS,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const SIMULATE_HELP = formatHelp(
  'netpol-profiles simulate --catalog PATH... --namespaces PATH... [--policies PATH...] [--pods PATH...] FROM TO [PORT[/PROTO]]\n' +
    '       netpol-profiles simulate ... --flows FILE\n' +
    '       netpol-profiles simulate ... --matrix [--before PATH...]',
  [
    'Decides flows the way Cilium 1.18+ does, with the policies `render` produces from the same inputs',
    'plus the policies given with --policies, and says why: which policy and rule allowed it, which',
    'policy put the direction in default-deny, or which deny rule matched.',
    '',
    'Endpoints: NS (a pod without labels in NS), NS/key=value,... (a pod with those labels), NS/NAME',
    '(a Pod or workload from --pods), reserved:world|host|remote-node|kube-apiserver|health|ingress,',
    'an IP address or a DNS name (outside the cluster). PORT is a number or a port name the',
    'destination pod declares; PROTO is TCP (default), UDP or SCTP. Without PORT: every TCP port.',
    '',
    'Exit codes: 0 every flow allowed (with expect: every expectation held; with --before: no cell',
    'changed); 1 a flow denied or undecidable (an expectation failed; cells changed); 2 usage or',
    'input error. See docs/simulate.md.',
  ].join('\n'),
  SIMULATE_FLAGS,
);

export async function simulateCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseFlagsAndPositionals(argv, SIMULATE_FLAGS, io.env);
  if (values.help) {
    io.stdout(SIMULATE_HELP);
    return 0;
  }
  const format = values.output as SimulateFormat;
  if (!SIMULATE_FORMATS.includes(format)) throw new UsageError(`--output must be table or json, not ${JSON.stringify(format)}`);
  const config = renderConfigFromFlags(values);
  const beforePaths = listOf(values.before);
  const modes = [positionals.length > 0, values.flows !== undefined, values.matrix === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give one of: FROM TO [PORT], --flows FILE, or --matrix');
  if (positionals.length > 0 && (positionals.length < 2 || positionals.length > 3)) {
    throw new UsageError(`expected FROM TO [PORT[/PROTO]], got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  }
  if (beforePaths.length > 0 && values.matrix !== true) throw new UsageError('--before needs --matrix');
  checkWorldFlags(values, 'simulate', [...beforePaths, ...(values.flows ? [String(values.flows)] : [])]);
  let matrixPort: { port: number; protocol: Protocol } | undefined;
  if (values.matrix === true) {
    try {
      const parsed = parsePort(String(values['matrix-port']), { kind: 'pod', namespace: 'default', labels: {} });
      if (parsed.port === undefined) throw new FlowError('a port number is needed');
      matrixPort = { port: parsed.port, protocol: parsed.protocol };
    } catch (error) {
      if (error instanceof FlowError) throw new UsageError(`--matrix-port: ${error.message}`);
      throw error;
    }
  }

  // Inputs: every problem of every file, then stop (nothing is simulated from a partial input).
  const world = await loadWorld(values, io, 'simulate', values.matrix === true ? beforePaths : []);
  if (world.problems.length > 0) {
    reportInputProblems(world.problems, 'simulate', 'nothing simulated', io);
    return 2;
  }
  const { pods, after: afterState, before: beforeState } = world;

  // The flows are checked before anything is simulated: a typo in one is a usage error.
  let flows: AskedFlow[] = [];
  if (values.matrix !== true) {
    try {
      flows =
        values.flows !== undefined
          ? parseFlowsFile(readFlowsFile(String(values.flows), io), String(values.flows), pods)
          : [parseFlow(positionals[0]!, positionals[1]!, positionals[2], pods)];
    } catch (error) {
      if (error instanceof FlowError) throw new CommandError(error.message, 2);
      throw error;
    }
  }

  const scenarioOf = (state: WorldState): Scenario => worldScenario(state, world.filePolicies, config);
  const scenario = scenarioOf(afterState);
  reportLabelProblems(scenario, 'simulate', io);

  if (values.matrix === true) {
    const planOf = (state: WorldState) => matrixPlan(state.namespaces.map((ns) => ns.name), state.catalog, pods, matrixPort!);
    const afterPlan = planOf(afterState);
    const afterCells = runMatrix(scenario.engine, afterPlan);
    if (!beforeState) {
      writeMatrix(afterPlan, afterCells, format, io.stdout);
      return afterCells.every((code) => code === 1) ? 0 : 1;
    }
    const beforePlan = planOf(beforeState);
    const changes: ExplainedChange[] = diffMatrices(beforePlan, runMatrix(scenarioOf(beforeState).engine, beforePlan), afterPlan, afterCells).map((change) => {
      if (!change.afterIndex) return change;
      const source = afterPlan.sources[change.afterIndex.source]!;
      const target = afterPlan.targets[change.afterIndex.target]!;
      return { ...change, explained: scenario.engine.decide({ from: source.endpoint, to: target.endpoint, port: target.port, protocol: target.protocol }) };
    });
    io.stdout(formatChanges(changes, format));
    return changes.length === 0 ? 0 : 1;
  }

  warnAboutUnknownNamespaces(flows, scenario, io);
  const results: FlowResult[] = flows.map((flow) => ({ flow, result: scenario.engine.decide(flow) }));
  io.stdout(format === 'json' ? formatFlowsJson(results) : formatFlowsTable(results));
  return results.some(flowFailed) ? 1 : 0;
}

function readFlowsFile(path: string, io: CommandIO): string {
  if (path === '-') return io.readStdin();
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FlowError(`${path}: cannot read: ${code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : String(code ?? error)}`);
  }
}

function warnAboutUnknownNamespaces(flows: readonly AskedFlow[], scenario: Scenario, io: CommandIO): void {
  const unknown = new Set<string>();
  const check = (endpoint: Endpoint) => {
    if (endpoint.kind === 'pod' && !scenario.engine.hasNamespace(endpoint.namespace)) unknown.add(endpoint.namespace);
  };
  for (const flow of flows) {
    check(flow.from);
    check(flow.to);
  }
  for (const name of [...unknown].sort()) {
    io.stderr(`simulate: warning: namespace ${JSON.stringify(name)} is not among the inputs; simulated as a namespace with no labels\n`);
  }
}
