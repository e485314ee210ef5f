// The renderer: catalog + namespaces → every object that should exist, in a stable order. Shared by
// the offline `render` command and the operator's controllers; pure, no I/O.

import type { RenderConfig } from '../config.js';
import type { Catalog } from '../catalog/types.js';
import type { PolicyObject } from '../kube/types.js';
import { evaluateNamespace, type CatalogNames, type NamespaceIntent } from '../labels.js';
import {
  renderAccessIngressPolicy,
  renderAccessPolicy,
  renderBaselinePolicy,
  renderEscapeHatchPolicy,
  renderProfilePolicy,
  type SourceType,
} from './policies.js';

export interface NamespaceInput {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/**
 * Observed objects of this source type in this namespace must be left exactly as they are: neither
 * updated nor deleted. This is how "an invalid profile label keeps what was applied" reaches the diff.
 */
export interface RetainRule {
  /** Undefined for cluster-scoped objects. */
  namespace: string | undefined;
  /** Any namespace (what a rejected SharedService generated, wherever its home was). */
  anyNamespace?: boolean;
  sourceType: SourceType;
  /** Only objects generated from this source; any source when undefined. */
  source?: string;
}

export interface NamespaceRender extends DesiredObjects {
  intent: NamespaceIntent;
}

export function catalogNames(catalog: Catalog): CatalogNames {
  return {
    hasProfile: (name) => catalog.profiles.has(name),
    hasService: (name) => catalog.services.has(name),
    isRejectedProfile: (name) => catalog.rejected.profiles.has(name),
    isRejectedService: (name) => catalog.rejected.services.has(name),
  };
}

/** The namespace's own objects from its labels (tests and what-ifs; the operator holds the intent already). */
export function renderNamespace(namespace: NamespaceInput, catalog: Catalog, config: RenderConfig): NamespaceRender {
  const intent = evaluateNamespace(namespace.name, namespace.labels, catalogNames(catalog), config);
  return renderIntent(intent, catalog, config);
}

/** The namespace's own objects, `profile-<P>` and `access-<S>` (none for a protected namespace): the namespace controller's desired state. */
export function renderIntent(intent: NamespaceIntent, catalog: Catalog, config: RenderConfig): NamespaceRender {
  const objects: PolicyObject[] = [];
  const retain: RetainRule[] = [];
  if (intent.profile.state === 'valid') {
    objects.push(renderProfilePolicy(intent.namespace, catalog.profiles.get(intent.profile.name)!, config.keys));
  } else if (intent.profile.state === 'invalid' || intent.profile.state === 'unavailable') {
    retain.push({ namespace: intent.namespace, sourceType: 'profile' });
  }
  for (const service of intent.access) {
    objects.push(renderAccessPolicy(intent.namespace, catalog.services.get(service)!, config.keys));
  }
  for (const service of intent.retainedAccess) retain.push({ namespace: intent.namespace, sourceType: 'access', source: service });
  return { intent, objects, retain };
}

/** Namespaces granted access to each shared service, sorted. */
export function grantsByService(intents: Iterable<NamespaceIntent>): Map<string, string[]> {
  const grants = new Map<string, string[]>();
  for (const intent of intents) {
    for (const service of intent.access) {
      let namespaces = grants.get(service);
      if (!namespaces) grants.set(service, (namespaces = []));
      namespaces.push(intent.namespace);
    }
  }
  for (const namespaces of grants.values()) namespaces.sort();
  return grants;
}

/**
 * Namespaces whose profile label is invalid (or names an invalid NetworkProfile) and that have no
 * profile policy of ours: nothing of a profile was ever applied, so the baselines leave them out and
 * they keep exactly the traffic they had. A namespace that had a valid profile keeps its profile
 * policy (a retain rule) and stays selected, so it keeps exactly what it had too.
 */
export function unappliedProfileNamespaces(intents: Iterable<NamespaceIntent>, hasProfilePolicy: (namespace: string) => boolean): string[] {
  const names: string[] = [];
  for (const intent of intents) {
    const state = intent.profile.state;
    if ((state === 'invalid' || state === 'unavailable') && !hasProfilePolicy(intent.namespace)) names.push(intent.namespace);
  }
  return names.sort();
}

/** What the cluster holds beyond the namespaces' labels, where it changes what should exist. */
export interface ClusterFacts {
  /** The namespace holds a profile policy of ours (see `unappliedProfileNamespaces`). Offline: none does. */
  hasProfilePolicy?(namespace: string): boolean;
  /** Objects can be written into the namespace: it exists and is not being deleted. Offline: every namespace. */
  isWritable?(namespace: string): boolean;
}

/**
 * The cluster-wide objects (the escape hatch and one CCNP per baseline) and what rejected
 * baselines keep: the cluster-objects controller's desired state.
 */
export function renderClusterObjects(
  intents: Iterable<NamespaceIntent>,
  catalog: Catalog,
  config: RenderConfig,
  facts: ClusterFacts = {},
): DesiredObjects {
  const unapplied = unappliedProfileNamespaces(intents, facts.hasProfilePolicy ?? (() => false));
  const objects: PolicyObject[] = [renderEscapeHatchPolicy(config.keys)];
  for (const baseline of catalog.baselines.values()) objects.push(renderBaselinePolicy(baseline, config, unapplied));
  const retain = [...catalog.rejected.baselines].map((source): RetainRule => ({ namespace: undefined, sourceType: 'baseline', source }));
  return { objects, retain };
}

/**
 * `access-<S>-ingress` of one SharedService, in its home namespace, allowing the `granted`
 * namespaces: the shared-service controller's desired state. Nothing is written into a home that is
 * not writable, and what is there is kept (it goes with the namespace); a SharedService that fails
 * validation keeps the object it had, wherever it is.
 */
export function renderSharedService(
  name: string,
  catalog: Catalog,
  granted: readonly string[],
  config: RenderConfig,
  facts: ClusterFacts = {},
): DesiredObjects {
  const retain: RetainRule[] = [];
  if (catalog.rejected.services.has(name)) retain.push({ namespace: undefined, anyNamespace: true, sourceType: 'access-ingress', source: name });
  const service = catalog.services.get(name);
  const policy = service?.manageIngress ? renderAccessIngressPolicy(service, granted, config.keys) : undefined;
  if (!policy) return { objects: [], retain };
  if (facts.isWritable && !facts.isWritable(policy.metadata.namespace!)) {
    retain.push({ namespace: policy.metadata.namespace, sourceType: 'access-ingress', source: name });
    return { objects: [], retain };
  }
  return { objects: [policy], retain };
}

export interface DesiredObjects {
  objects: PolicyObject[];
  retain: RetainRule[];
}

export interface RenderResult extends DesiredObjects {
  /** Every desired object, sorted by `compareObjects`. */
  objects: PolicyObject[];
  /** One intent per namespace, sorted by name. */
  namespaces: NamespaceIntent[];
}

/** Everything that should exist, given the namespaces' labels, the catalog and (in a cluster) `facts`. */
export function renderAll(namespaces: readonly NamespaceInput[], catalog: Catalog, config: RenderConfig, facts: ClusterFacts = {}): RenderResult {
  const sorted = [...namespaces].sort((a, b) => compareStrings(a.name, b.name));
  const names = catalogNames(catalog);
  const intents = sorted.map((namespace) => evaluateNamespace(namespace.name, namespace.labels, names, config));
  return renderIntents(intents, catalog, config, facts);
}

/**
 * `renderAll` for namespaces already evaluated (sorted by name): the per-key renderers of the
 * operator's controllers, composed. A what-if with changed labels re-renders through here.
 */
export function renderIntents(intents: readonly NamespaceIntent[], catalog: Catalog, config: RenderConfig, facts: ClusterFacts = {}): RenderResult {
  const objects: PolicyObject[] = [];
  const retain: RetainRule[] = [];
  const add = (desired: DesiredObjects) => {
    objects.push(...desired.objects);
    retain.push(...desired.retain);
  };
  for (const intent of intents) add(renderIntent(intent, catalog, config));
  add(renderClusterObjects(intents, catalog, config, facts));
  const grants = grantsByService(intents);
  for (const name of new Set([...catalog.services.keys(), ...catalog.rejected.services])) add(renderSharedService(name, catalog, grants.get(name) ?? [], config, facts));
  objects.sort(compareObjects);
  return { objects, namespaces: [...intents], retain };
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable output order: cluster-wide policies first, then by namespace, then by name. */
export function compareObjects(a: PolicyObject, b: PolicyObject): number {
  if (a.kind !== b.kind) return a.kind === 'CiliumClusterwideNetworkPolicy' ? -1 : 1;
  return compareStrings(a.metadata.namespace ?? '', b.metadata.namespace ?? '') || compareStrings(a.metadata.name, b.metadata.name);
}
