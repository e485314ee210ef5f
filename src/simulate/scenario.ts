// The world a simulation runs in: the namespaces, every policy that would be enforced once the
// operator has converged (exactly what `render` produces, minus objects whose name someone else
// holds, plus what the operator keeps), and the policies that exist besides ours. Pure.

import type { Catalog } from '../catalog/types.js';
import type { RenderConfig } from '../config.js';
import { policyDisplayName } from '../engine/compile.js';
import { PolicyEngine } from '../engine/engine.js';
import { type KubeObject, type PolicyObject, objectKey, type ObservedPolicy } from '../kube/types.js';
import { catalogNames, renderAll, renderIntents, type ClusterFacts, type NamespaceInput, type RenderResult } from '../render/render.js';
import { evaluateNamespace } from '../labels.js';
import { convergedOwnedPolicies, namespacesWithOwnedProfile } from '../reconcile/diff.js';

export interface ScenarioInput {
  catalog: Catalog;
  namespaces: readonly NamespaceInput[];
  config: RenderConfig;
  /** Policies that exist besides ours: --policies files, or the cluster's policies that are not ours. */
  otherPolicies: readonly KubeObject[];
  /** The generated objects the cluster holds (live mode): what the operator keeps comes from here. */
  observedOwned?: readonly ObservedPolicy[];
}

export interface Scenario {
  input: ScenarioInput;
  engine: PolicyEngine;
  rendered: RenderResult;
  /** Our objects as they will be enforced. */
  ours: Array<PolicyObject | ObservedPolicy>;
  /** Every policy the engine was given: ours, then the others. */
  policies: KubeObject[];
}

const isCiliumPolicy = (object: KubeObject): object is ObservedPolicy =>
  object.kind === 'CiliumNetworkPolicy' || object.kind === 'CiliumClusterwideNetworkPolicy';

/** What the cluster holds that decides which of our objects exist: ours, and others' same-named ones. */
function observedOf(input: ScenarioInput): ObservedPolicy[] {
  return [...(input.observedOwned ?? []), ...input.otherPolicies.filter(isCiliumPolicy)];
}

function clusterFacts(input: ScenarioInput): ClusterFacts {
  const namespaces = namespacesWithOwnedProfile(input.observedOwned ?? [], input.config.keys);
  return { hasProfilePolicy: (namespace) => namespaces.has(namespace) };
}

export function buildScenario(input: ScenarioInput): Scenario {
  const { catalog, config } = input;
  const rendered = renderAll(input.namespaces, catalog, config, clusterFacts(input));
  // Someone else's object holding a generated name blocks ours (NameConflict): theirs is enforced.
  const ours = convergedOwnedPolicies(rendered.objects, observedOf(input), rendered.retain, config.keys);
  const policies = [...ours, ...input.otherPolicies];
  const engine = new PolicyEngine({ namespaces: input.namespaces, policies });
  return { input, engine, rendered, ours, policies };
}

/**
 * The scenario with one namespace's labels replaced ("what if this label changed?"). Everything is
 * rendered again from the evaluated namespaces, but only the objects whose content changed are
 * compiled again: a what-if costs what it changes.
 */
export function whatIf(base: Scenario, namespace: string, labels: Readonly<Record<string, string>>): Scenario {
  const { input } = base;
  const { catalog, config } = input;
  const intent = evaluateNamespace(namespace, labels, catalogNames(catalog), config);
  const intents = base.rendered.namespaces.map((current) => (current.namespace === namespace ? intent : current));
  if (!base.rendered.namespaces.some((current) => current.namespace === namespace)) intents.push(intent);
  intents.sort((a, b) => (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0));
  const rendered = renderIntents(intents, catalog, config, clusterFacts(input));
  const ours = convergedOwnedPolicies(rendered.objects, observedOf(input), rendered.retain, config.keys);
  const before = new Map(base.ours.map((object) => [objectKey(object), object]));
  const after = new Map(ours.map((object) => [objectKey(object), object]));
  const same = (a: KubeObject | undefined, b: KubeObject | undefined) => a !== undefined && b !== undefined && a.spec === b.spec && a.specs === b.specs;
  const display = (object: KubeObject) => policyDisplayName(String(object.kind), object.metadata?.namespace, object.metadata?.name ?? '');
  const remove = new Set([...before].filter(([key, object]) => !same(object, after.get(key))).map(([, object]) => display(object)));
  const add = [...after].filter(([key, object]) => !same(before.get(key), object)).map(([, object]) => object);
  const namespaces = [...input.namespaces.filter((ns) => ns.name !== namespace), { name: namespace, labels }];
  const engine = base.engine.derive({ remove, add, namespaces: [{ name: namespace, labels }] });
  return { input: { ...input, namespaces }, engine, rendered, ours, policies: [...ours, ...input.otherPolicies] };
}
