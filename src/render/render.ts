// The renderer: catalog + namespaces → every object that should exist, in a stable order. Shared by
// the offline `render` command and the operator's reconcilers; pure, no I/O.

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

export interface NamespaceRender {
  intent: NamespaceIntent;
  objects: PolicyObject[];
  retain: RetainRule[];
}

export function catalogNames(catalog: Catalog): CatalogNames {
  return {
    hasProfile: (name) => catalog.profiles.has(name),
    hasService: (name) => catalog.services.has(name),
    isRejectedProfile: (name) => catalog.rejected.profiles.has(name),
    isRejectedService: (name) => catalog.rejected.services.has(name),
  };
}

/** The namespace's own objects: `profile-<P>` and `access-<S>` (none for a protected namespace). */
export function renderNamespace(namespace: NamespaceInput, catalog: Catalog, config: RenderConfig): NamespaceRender {
  const intent = evaluateNamespace(namespace.name, namespace.labels, catalogNames(catalog), config);
  return renderIntent(intent, catalog, config);
}

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

/** The cluster-wide objects: the escape hatch and one CCNP per baseline. */
export function renderClusterPolicies(
  catalog: Catalog,
  config: RenderConfig,
  unappliedProfiles: readonly string[] = [],
): { objects: PolicyObject[]; retain: RetainRule[] } {
  const objects: PolicyObject[] = [renderEscapeHatchPolicy(config.keys)];
  for (const baseline of catalog.baselines.values()) objects.push(renderBaselinePolicy(baseline, config, unappliedProfiles));
  const retain = [...catalog.rejected.baselines].map((source): RetainRule => ({ namespace: undefined, sourceType: 'baseline', source }));
  return { objects, retain };
}

/** A SharedService that fails validation keeps the `access-<S>-ingress` it had, wherever it is. */
export function rejectedServiceRetain(catalog: Catalog, names: Iterable<string> = catalog.rejected.services): RetainRule[] {
  return [...names]
    .filter((name) => catalog.rejected.services.has(name))
    .map((source): RetainRule => ({ namespace: undefined, anyNamespace: true, sourceType: 'access-ingress', source }));
}

/** Objects that do not belong to one client namespace: baselines, the escape hatch, access-ingress. */
export function renderSharedPolicies(
  catalog: Catalog,
  intents: readonly NamespaceIntent[],
  config: RenderConfig,
  unappliedProfiles: readonly string[] = [],
): PolicyObject[] {
  const objects = renderClusterPolicies(catalog, config, unappliedProfiles).objects;
  const grants = grantsByService(intents);
  for (const service of catalog.services.values()) {
    const policy = renderAccessIngressPolicy(service, grants.get(service.name) ?? [], config.keys);
    if (policy) objects.push(policy);
  }
  return objects;
}

export interface RenderResult {
  /** Every desired object, sorted by `compareObjects`. */
  objects: PolicyObject[];
  /** One intent per namespace, sorted by name. */
  namespaces: NamespaceIntent[];
  retain: RetainRule[];
}

/**
 * Everything that should exist. `hasProfilePolicy` says whether a namespace holds a profile policy
 * of ours (the operator and `status` know; offline there is none), which decides whether a namespace
 * with an invalid profile label is left out of the baselines (see `unappliedProfileNamespaces`).
 */
export function renderAll(
  namespaces: readonly NamespaceInput[],
  catalog: Catalog,
  config: RenderConfig,
  hasProfilePolicy: (namespace: string) => boolean = () => false,
): RenderResult {
  const sorted = [...namespaces].sort((a, b) => compareStrings(a.name, b.name));
  const names = catalogNames(catalog);
  const intents = sorted.map((namespace) => evaluateNamespace(namespace.name, namespace.labels, names, config));
  return renderIntents(intents, catalog, config, hasProfilePolicy);
}

/** `renderAll` for namespaces already evaluated (sorted by name): what a what-if with changed labels re-renders. */
export function renderIntents(
  intents: readonly NamespaceIntent[],
  catalog: Catalog,
  config: RenderConfig,
  hasProfilePolicy: (namespace: string) => boolean = () => false,
): RenderResult {
  const objects: PolicyObject[] = [];
  const retain: RetainRule[] = [];
  for (const intent of intents) {
    const rendered = renderIntent(intent, catalog, config);
    objects.push(...rendered.objects);
    retain.push(...rendered.retain);
  }
  objects.push(...renderSharedPolicies(catalog, intents, config, unappliedProfileNamespaces(intents, hasProfilePolicy)));
  objects.sort(compareObjects);
  retain.push(...renderClusterPolicies(catalog, config).retain, ...rejectedServiceRetain(catalog));
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

export function objectKey(object: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
