// The world a simulation runs in: the namespaces, every policy that would be enforced once the
// operator has converged (exactly what `render` produces, minus objects whose name someone else
// holds, plus what the operator keeps), and the policies that exist besides ours. Pure.

import type { RenderConfig } from '../config.js';
import type { Catalog } from '../catalog/types.js';
import { PolicyEngine } from '../engine/engine.js';
import type { KubeObject } from '../kube/types.js';
import { renderAll, type NamespaceInput, type RenderResult } from '../render/render.js';
import { convergedOwnedPolicies, namespacesWithOwnedProfile, type ObservedPolicy } from '../reconcile/diff.js';

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
  engine: PolicyEngine;
  rendered: RenderResult;
  /** Every policy the engine was given: ours as they will be enforced, then the others. */
  policies: KubeObject[];
}

const isCiliumPolicy = (object: KubeObject): object is ObservedPolicy =>
  object.kind === 'CiliumNetworkPolicy' || object.kind === 'CiliumClusterwideNetworkPolicy';

export function buildScenario(input: ScenarioInput): Scenario {
  const { catalog, config } = input;
  const observedOwned = input.observedOwned ?? [];
  const withProfilePolicy = namespacesWithOwnedProfile(observedOwned, config.keys);
  const rendered = renderAll(input.namespaces, catalog, config, (namespace) => withProfilePolicy.has(namespace));
  // Someone else's object holding a generated name blocks ours (NameConflict): theirs is enforced.
  const observed = [...observedOwned, ...input.otherPolicies.filter(isCiliumPolicy)];
  const ours = convergedOwnedPolicies(rendered.objects, observed, rendered.retain, config.keys);
  const policies = [...ours, ...input.otherPolicies];
  const engine = new PolicyEngine({ namespaces: input.namespaces, policies });
  return { engine, rendered, policies };
}
