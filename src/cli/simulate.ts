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
import { buildCatalog, formatProblem, readDocuments, sortDocuments, type InputProblem, type SourcedObject } from '../catalog/load.js';
import type { Catalog } from '../catalog/types.js';
import type { Endpoint, Protocol } from '../engine/identity.js';
import { RESOURCES } from '../kube/resources.js';
import type { KubeObject, Namespace } from '../kube/types.js';
import { isOwned, type ObservedPolicy } from '../reconcile/diff.js';
import type { NamespaceInput } from '../render/render.js';
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
import { readPods, readPolicies } from '../simulate/inputs.js';
import { diffMatrices, matrixPlan, runMatrix } from '../simulate/matrix.js';
import { buildScenario, type Scenario } from '../simulate/scenario.js';
import { connect, describeFailure, listAll } from './cluster.js';
import { CommandError, formatHelp, parseFlagsAndPositionals, UsageError, type FlagSpecs, type FlagValues } from './flags.js';
import type { CommandIO } from './io.js';
import { loadKubeConfig } from './kubeconfig.js';
import { RENDER_CONFIG_FLAGS, renderConfigFromFlags } from './render.js';

const SIMULATE_FLAGS: FlagSpecs = {
  catalog: { type: 'string', multiple: true, valueName: 'PATH', help: 'catalog file or directory (repeatable; required offline)' },
  namespaces: { type: 'string', multiple: true, valueName: 'PATH', help: 'Namespace file or directory, or - for stdin (repeatable; required offline)' },
  policies: { type: 'string', multiple: true, valueName: 'PATH', help: 'CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy files that exist besides ours' },
  pods: { type: 'string', multiple: true, valueName: 'PATH', help: 'Pods or workloads (Deployment, StatefulSet, ...) whose pod labels and ports flows can use' },
  flows: { type: 'string', valueName: 'FILE', help: 'a YAML file of flows: [{from, to, port, expect: allowed|denied}]' },
  matrix: { type: 'boolean', help: 'every namespace and --pods pod against every namespace, the internet, the API server, DNS and each SharedService' },
  before: { type: 'string', multiple: true, valueName: 'PATH', help: 'with --matrix: the Namespaces (and catalog) before a change; prints only the cells that change' },
  'matrix-port': { type: 'string', default: '8080/TCP', valueName: 'PORT/PROTO', help: 'with --matrix: the port a namespace is reached on' },
  output: { type: 'string', short: 'o', default: 'table', valueName: 'table|json', help: 'output format' },
  kubeconfig: { type: 'string', valueName: 'PATH', help: 'simulate against this cluster (read-only); --catalog and --namespaces files then replace its objects of the same name' },
  context: { type: 'string', valueName: 'NAME', help: 'kubeconfig context (implies a live cluster)' },
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

const listOf = (value: FlagValues[string]): string[] => (Array.isArray(value) ? value : []);

interface State {
  catalog: Catalog;
  namespaces: NamespaceInput[];
  observedOwned: ObservedPolicy[];
  clusterPolicies: KubeObject[];
}

interface ClusterObjects {
  namespaces: Namespace[];
  catalogObjects: KubeObject[];
  policies: KubeObject[];
}

export async function simulateCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseFlagsAndPositionals(argv, SIMULATE_FLAGS, io.env);
  if (values.help) {
    io.stdout(SIMULATE_HELP);
    return 0;
  }
  const format = values.output as SimulateFormat;
  if (!SIMULATE_FORMATS.includes(format)) throw new UsageError(`--output must be table or json, not ${JSON.stringify(format)}`);
  const config = renderConfigFromFlags(values);
  const catalogPaths = listOf(values.catalog);
  const namespacePaths = listOf(values.namespaces);
  const beforePaths = listOf(values.before);
  const live = values.kubeconfig !== undefined || values.context !== undefined;
  const modes = [positionals.length > 0, values.flows !== undefined, values.matrix === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give one of: FROM TO [PORT], --flows FILE, or --matrix');
  if (positionals.length > 0 && (positionals.length < 2 || positionals.length > 3)) {
    throw new UsageError(`expected FROM TO [PORT[/PROTO]], got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  }
  if (beforePaths.length > 0 && values.matrix !== true) throw new UsageError('--before needs --matrix');
  if (!live && (catalogPaths.length === 0 || namespacePaths.length === 0)) {
    throw new UsageError('offline, simulate needs --catalog PATH and --namespaces PATH (or --kubeconfig for a live cluster)');
  }
  const allPaths = [...catalogPaths, ...namespacePaths, ...beforePaths, ...listOf(values.policies), ...listOf(values.pods), ...(values.flows ? [String(values.flows)] : [])];
  if (allPaths.filter((p) => p === '-').length > 1) throw new UsageError('- (stdin) can be given only once');
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
  const problems: InputProblem[] = [];
  const read = (paths: string[]): SourcedObject[] => {
    if (paths.length === 0) return [];
    const result = readDocuments(paths, io.readStdin);
    problems.push(...result.problems);
    return result.documents;
  };
  const { policies: filePolicies, problems: policyProblems } = readPolicies(read(listOf(values.policies)));
  const { pods, problems: podProblems } = readPods(read(listOf(values.pods)));
  problems.push(...policyProblems, ...podProblems);
  const after = sortDocuments(read([...catalogPaths, ...namespacePaths]));
  const before = values.matrix === true && beforePaths.length > 0 ? sortDocuments(read(beforePaths)) : undefined;
  problems.push(...after.problems, ...(before?.problems ?? []));

  let cluster: ClusterObjects | undefined;
  if (live) cluster = await readCluster(values, io);

  const afterState = assemble(after, undefined, cluster, problems, io);
  const beforeState = before ? assemble(before, after, cluster, problems, io) : undefined;
  if (problems.length > 0) {
    for (const problem of problems) io.stderr(`${formatProblem(problem)}\n`);
    io.stderr(`simulate: ${problems.length} input problem${problems.length === 1 ? '' : 's'}; nothing simulated\n`);
    return 2;
  }

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

  const scenarioOf = (state: State): Scenario =>
    buildScenario({
      catalog: state.catalog,
      namespaces: state.namespaces,
      config,
      otherPolicies: [...state.clusterPolicies, ...filePolicies],
      observedOwned: state.observedOwned,
    });
  const scenario = scenarioOf(afterState);
  reportLabelProblems(scenario, io);

  if (values.matrix === true) {
    const planOf = (state: State) => matrixPlan(state.namespaces.map((ns) => ns.name), state.catalog, pods, matrixPort!);
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

/**
 * One state (after, or before a change). Offline: the files' catalog and Namespaces; for the
 * before state, catalog objects it does not give come from the after inputs. Live: the cluster's
 * objects, with the files' objects in place of the same-named ones.
 */
function assemble(
  files: ReturnType<typeof sortDocuments>,
  fallback: ReturnType<typeof sortDocuments> | undefined,
  cluster: ClusterObjects | undefined,
  problems: InputProblem[],
  io: CommandIO,
): State {
  const fileCatalog = files.catalogObjects.length > 0 || !fallback || cluster ? files.catalogObjects : fallback.catalogObjects;
  const replaced = new Set(fileCatalog.map((doc) => `${doc.object.kind}/${doc.object.metadata?.name}`));
  const clusterCatalog = (cluster?.catalogObjects ?? []).filter((object) => !replaced.has(`${object.kind}/${object.metadata?.name}`));
  const { catalog, problems: catalogProblems } = buildCatalog([
    ...clusterCatalog.map((object) => ({ source: 'cluster', object })),
    ...fileCatalog.map((doc) => ({ source: doc.source, object: doc.object })),
  ]);
  for (const problem of catalogProblems) {
    // The cluster's invalid catalog objects are its state (the operator keeps what they generated);
    // a file's are input errors.
    if (problem.source === 'cluster') io.stderr(`simulate: note: ${formatProblem(problem)} (kept as the operator keeps it)\n`);
    else problems.push(problem);
  }
  const fileNamespaces = files.namespaces.length > 0 || !fallback || cluster ? files.namespaces : fallback.namespaces;
  const byName = new Map<string, NamespaceInput>();
  for (const namespace of cluster?.namespaces ?? []) {
    const name = namespace.metadata?.name;
    if (name && namespace.metadata?.deletionTimestamp === undefined) byName.set(name, { name, labels: namespace.metadata?.labels ?? {} });
  }
  for (const namespace of fileNamespaces) byName.set(namespace.name, { name: namespace.name, labels: namespace.labels });
  const owned = (cluster?.policies ?? []).filter((policy) => isCiliumPolicy(policy) && isOwned(policy)) as ObservedPolicy[];
  const others = (cluster?.policies ?? []).filter((policy) => !(isCiliumPolicy(policy) && isOwned(policy)));
  return { catalog, namespaces: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)), observedOwned: owned, clusterPolicies: others };
}

const isCiliumPolicy = (object: KubeObject): boolean => object.kind === 'CiliumNetworkPolicy' || object.kind === 'CiliumClusterwideNetworkPolicy';

async function readCluster(values: FlagValues, io: CommandIO): Promise<ClusterObjects> {
  const kubeConfig = loadKubeConfig({ path: values.kubeconfig as string | undefined, context: values.context as string | undefined, env: io.env, order: 'files-first' });
  const api = connect(kubeConfig, 'simulate');
  try {
    const [namespaces, profiles, services, baselines, cnps, ccnps, networkPolicies] = await Promise.all([
      listAll<Namespace>(api, RESOURCES.namespaces),
      listAll<KubeObject>(api, RESOURCES.networkProfiles),
      listAll<KubeObject>(api, RESOURCES.sharedServices),
      listAll<KubeObject>(api, RESOURCES.networkBaselines),
      listAll<KubeObject>(api, RESOURCES.ciliumNetworkPolicies),
      listAll<KubeObject>(api, RESOURCES.ciliumClusterwideNetworkPolicies),
      listAll<KubeObject>(api, RESOURCES.networkPolicies),
    ]);
    // Lists return items without kind: give each its kind back, as the engine dispatches on it.
    const withKind = (items: KubeObject[], kind: string, apiVersion: string) => items.map((item) => ({ ...item, kind, apiVersion }));
    return {
      namespaces,
      catalogObjects: [
        ...withKind(profiles, 'NetworkProfile', 'network-policy.homelab/v1alpha1'),
        ...withKind(services, 'SharedService', 'network-policy.homelab/v1alpha1'),
        ...withKind(baselines, 'NetworkBaseline', 'network-policy.homelab/v1alpha1'),
      ],
      policies: [
        ...withKind(cnps, 'CiliumNetworkPolicy', 'cilium.io/v2'),
        ...withKind(ccnps, 'CiliumClusterwideNetworkPolicy', 'cilium.io/v2'),
        ...withKind(networkPolicies, 'NetworkPolicy', 'networking.k8s.io/v1'),
      ],
    };
  } catch (error) {
    throw new CommandError(
      describeFailure(error, `the Kubernetes API at ${api.server}`, 'simulate', 'namespaces, the catalog, CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies'),
      2,
    );
  } finally {
    api.close();
  }
}

/** Label problems are what is being simulated, not input errors: noted on stderr, as `render` lists them. */
function reportLabelProblems(scenario: Scenario, io: CommandIO): void {
  for (const intent of scenario.rendered.namespaces) {
    for (const problem of intent.problems) io.stderr(`simulate: note: ${intent.namespace}: ${problem.reason}: ${problem.label}: ${problem.message}\n`);
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
