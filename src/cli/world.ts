// What `simulate` and `diagnose` decide flows in: the catalog, the Namespaces and the policies, read
// from files (offline, like `render`) or from a cluster (`--kubeconfig`, read-only), where files
// then stand for proposed changes on top of it. Every problem of every file is collected; the
// caller prints them and stops.

import type { RenderConfig } from '../config.js';
import { INPUT_FLAGS } from './render.js';
import { buildCatalog, describeSkipped, formatProblem, readDocuments, sortDocuments, type InputProblem, type SortedInputs, type SourcedObject } from '../catalog/load.js';
import type { Catalog } from '../catalog/types.js';
import { RESOURCES } from '../kube/resources.js';
import { type KubeObject, type Namespace, type ObservedPolicy, objectKey } from '../kube/types.js';
import { isOwned } from '../reconcile/diff.js';
import { type NamespaceInput } from '../render/render.js';
import { readPods, readPolicies, type PodInput } from '../simulate/inputs.js';
import { buildScenario, type Scenario } from '../simulate/scenario.js';
import { connect, describeFailure, listAll, readPolicyWorld } from './cluster.js';
import { CommandError, UsageError, type FlagSpecs, type FlagValues } from './flags.js';
import type { CommandIO } from './io.js';
import { loadKubeConfig } from './kubeconfig.js';

export const WORLD_FLAGS: FlagSpecs = {
  catalog: { type: 'string', multiple: true, valueName: 'PATH', help: 'catalog file or directory (repeatable; required offline)' },
  namespaces: { type: 'string', multiple: true, valueName: 'PATH', help: 'Namespace file or directory, or - for stdin (repeatable; required offline)' },
  policies: { type: 'string', multiple: true, valueName: 'PATH', help: 'CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and NetworkPolicy files that exist besides ours' },
  pods: { type: 'string', multiple: true, valueName: 'PATH', help: 'Pods or workloads (Deployment, StatefulSet, ...) whose pod labels and ports flows can use' },
  ...INPUT_FLAGS,
};

export const LIVE_FLAGS: FlagSpecs = {
  kubeconfig: { type: 'string', valueName: 'PATH', help: 'read this cluster (read-only); --catalog and --namespaces files then replace its objects of the same name' },
  context: { type: 'string', valueName: 'NAME', help: 'kubeconfig context (implies a live cluster)' },
};

export const listOf = (value: FlagValues[string]): string[] => (Array.isArray(value) ? value : []);

const isLive = (values: FlagValues): boolean => values.kubeconfig !== undefined || values.context !== undefined;

/** Usage checks every command reading a world makes; `otherPaths` are the command's own inputs. */
export function checkWorldFlags(values: FlagValues, command: string, otherPaths: readonly string[]): void {
  if (!isLive(values) && (listOf(values.catalog).length === 0 || listOf(values.namespaces).length === 0)) {
    throw new UsageError(`offline, ${command} needs --catalog PATH and --namespaces PATH (or --kubeconfig for a live cluster)`);
  }
  const paths = [...listOf(values.catalog), ...listOf(values.namespaces), ...listOf(values.policies), ...listOf(values.pods), ...otherPaths];
  if (paths.filter((p) => p === '-').length > 1) throw new UsageError('- (stdin) can be given only once');
}

/** One state of the world: what the operator's inputs are, and what the cluster holds. */
export interface WorldState {
  catalog: Catalog;
  namespaces: NamespaceInput[];
  /** The generated objects the cluster holds (live). */
  observedOwned: ObservedPolicy[];
  /** The cluster's policies that are not ours (live). */
  clusterPolicies: KubeObject[];
}

export interface World {
  after: WorldState;
  /** With `beforePaths`: the state before a change. */
  before?: WorldState;
  filePolicies: KubeObject[];
  pods: PodInput[];
  problems: InputProblem[];
}

interface ClusterObjects {
  namespaces: Namespace[];
  catalogObjects: KubeObject[];
  policies: KubeObject[];
}

/** Reads the files (and the cluster, live); `beforePaths` give a second state before a change. */
export async function loadWorld(values: FlagValues, io: CommandIO, command: string, beforePaths: readonly string[] = []): Promise<World> {
  const problems: InputProblem[] = [];
  const read = (paths: readonly string[]): SourcedObject[] => {
    if (paths.length === 0) return [];
    const result = readDocuments(paths, io.readStdin, { recursive: values.recursive === true });
    problems.push(...result.problems);
    return result.documents;
  };
  const { policies: filePolicies, problems: policyProblems } = readPolicies(read(listOf(values.policies)));
  const { pods, problems: podProblems } = readPods(read(listOf(values.pods)));
  problems.push(...policyProblems, ...podProblems);
  // --skip-other-kinds applies to the catalog and Namespace inputs (a kustomize build or an app
  // folder); --policies and --pods files name what they hold.
  const sortOptions = { skipOtherKinds: values['skip-other-kinds'] === true };
  const after = sortDocuments(read([...listOf(values.catalog), ...listOf(values.namespaces)]), sortOptions);
  const before = beforePaths.length > 0 ? sortDocuments(read(beforePaths), sortOptions) : undefined;
  for (const sorted of [after, before]) {
    if (!sorted || sorted.skipped.size === 0) continue;
    const count = [...sorted.skipped.values()].reduce((a, b) => a + b, 0);
    io.stderr(`${command}: skipped ${count} object${count === 1 ? '' : 's'} of other kinds: ${describeSkipped(sorted.skipped)}\n`);
  }
  problems.push(...after.problems, ...(before?.problems ?? []));
  const cluster = isLive(values) ? await readCluster(values, io, command) : undefined;
  const afterState = withoutReplaced(assemble(after, undefined, cluster, problems, io, command), filePolicies);
  const beforeState = before ? withoutReplaced(assemble(before, after, cluster, problems, io, command), filePolicies) : undefined;
  return { after: afterState, ...(beforeState ? { before: beforeState } : {}), filePolicies, pods, problems };
}

/** A policy file's object stands for a change to the cluster's object of the same kind, namespace and name. */
function withoutReplaced(state: WorldState, filePolicies: readonly KubeObject[]): WorldState {
  const replaced = new Set(filePolicies.map(objectKey));
  return { ...state, clusterPolicies: state.clusterPolicies.filter((policy) => !replaced.has(objectKey(policy))) };
}

/** The scenario of one state, with the policy files on top. */
export function worldScenario(state: WorldState, filePolicies: readonly KubeObject[], config: RenderConfig): Scenario {
  return buildScenario({
    catalog: state.catalog,
    namespaces: state.namespaces,
    config,
    otherPolicies: [...state.clusterPolicies, ...filePolicies],
    observedOwned: state.observedOwned,
  });
}

export function reportInputProblems(problems: readonly InputProblem[], command: string, consequence: string, io: CommandIO): void {
  for (const problem of problems) io.stderr(`${formatProblem(problem)}\n`);
  io.stderr(`${command}: ${problems.length} input problem${problems.length === 1 ? '' : 's'}; ${consequence}\n`);
}

/** Label problems are what is being simulated, not input errors: noted on stderr, as `render` lists them. */
export function reportLabelProblems(scenario: Scenario, command: string, io: CommandIO): void {
  for (const intent of scenario.rendered.namespaces) {
    for (const problem of intent.problems) io.stderr(`${command}: note: ${intent.namespace}: ${problem.reason}: ${problem.label}: ${problem.message}\n`);
  }
}

/**
 * One state (after, or before a change). Offline: the files' catalog and Namespaces; for the
 * before state, catalog objects it does not give come from the after inputs. Live: the cluster's
 * objects, with the files' objects in place of the same-named ones.
 */
function assemble(
  files: SortedInputs,
  fallback: SortedInputs | undefined,
  cluster: ClusterObjects | undefined,
  problems: InputProblem[],
  io: CommandIO,
  command: string,
): WorldState {
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
    if (problem.source === 'cluster') io.stderr(`${command}: note: ${formatProblem(problem)} (kept as the operator keeps it)\n`);
    else problems.push(problem);
  }
  const fileNamespaces = files.namespaces.length > 0 || !fallback || cluster ? files.namespaces : fallback.namespaces;
  const byName = new Map<string, NamespaceInput>();
  for (const namespace of cluster?.namespaces ?? []) {
    const name = namespace.metadata?.name;
    if (name && namespace.metadata?.deletionTimestamp === undefined) byName.set(name, { name, labels: namespace.metadata?.labels ?? {} });
  }
  for (const namespace of fileNamespaces) byName.set(namespace.name, { name: namespace.name, labels: namespace.labels });
  const ours = (policy: KubeObject) => (policy.kind === 'CiliumNetworkPolicy' || policy.kind === 'CiliumClusterwideNetworkPolicy') && isOwned(policy);
  return {
    catalog,
    namespaces: [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    observedOwned: (cluster?.policies ?? []).filter(ours) as ObservedPolicy[],
    clusterPolicies: (cluster?.policies ?? []).filter((policy) => !ours(policy)),
  };
}

async function readCluster(values: FlagValues, io: CommandIO, command: string): Promise<ClusterObjects> {
  const kubeConfig = loadKubeConfig({ path: values.kubeconfig as string | undefined, context: values.context as string | undefined, env: io.env, order: 'files-first' });
  const api = connect(kubeConfig, command);
  try {
    const [world, networkPolicies] = await Promise.all([readPolicyWorld(api), listAll<KubeObject>(api, RESOURCES.networkPolicies)]);
    return { namespaces: world.namespaces, catalogObjects: world.catalogObjects, policies: [...world.policies, ...world.clusterPolicies, ...networkPolicies] };
  } catch (error) {
    throw new CommandError(
      describeFailure(error, `the Kubernetes API at ${api.server}`, command, 'namespaces, the catalog, CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies'),
      2,
    );
  } finally {
    api.close();
  }
}
