// Pure diff between the objects that should exist and the generated objects that do: what to
// create, update and delete, and which same-named objects belong to someone else. The operator
// applies creates and updates before deletes (make-before-break).

import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type LabelKeys } from '../config.js';
import { objectKey, type KubeObject, type ObservedPolicy, type PolicyObject } from '../kube/types.js';
import { jsonEqual } from '../render/canonical.js';
import { generatedSource } from '../render/policies.js';
import type { RetainRule } from '../render/render.js';

export interface PolicyDiff {
  create: PolicyObject[];
  /** `observed` rewritten by `rewritten()`. */
  update: Array<{ desired: PolicyObject; observed: ObservedPolicy; next: ObservedPolicy }>;
  delete: ObservedPolicy[];
  /** Desired objects whose name is taken by an object we do not own: never overwritten. */
  conflicts: Array<{ desired: PolicyObject; observed: ObservedPolicy }>;
  /** Owned objects not deleted although unwanted: what replaces them cannot be created (a conflict). */
  held: ObservedPolicy[];
}

/**
 * Objects that replace one another: a namespace's profile policy (one profile at a time), and a
 * shared service's ingress policy (one home namespace at a time). Until the replacement exists, the
 * object it replaces stays (make-before-break); independent objects (access, baselines) have none.
 */
export function replacementGroup(object: { kind?: string; metadata?: { namespace?: string; labels?: Record<string, string> } }, keys: LabelKeys): string | undefined {
  const source = generatedSource(object, keys);
  if (source?.type === 'profile') return `profile/${object.metadata?.namespace ?? ''}`;
  if (source?.type === 'access-ingress') return `access-ingress/${source.source}`;
  return undefined;
}

/** Splits `deletes` into those to carry out and those `blocked` (desired objects that could not be created) must hold. */
export function holdReplaced<T extends ObservedPolicy>(deletes: readonly T[], blocked: readonly PolicyObject[], keys: LabelKeys): { deletes: T[]; held: T[] } {
  const groups = new Set(blocked.map((object) => replacementGroup(object, keys)).filter((group) => group !== undefined));
  const result = { deletes: [] as T[], held: [] as T[] };
  for (const object of deletes) {
    const group = replacementGroup(object, keys);
    (group !== undefined && groups.has(group) ? result.held : result.deletes).push(object);
  }
  return result;
}

export function isOwned(object: KubeObject): boolean {
  return object.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;
}

/** True when `observed` already carries the desired spec and our labels (other labels are left to others). */
export function isInSync(desired: PolicyObject, observed: ObservedPolicy): boolean {
  const labels = observed.metadata.labels ?? {};
  for (const [key, value] of Object.entries(desired.metadata.labels)) if (labels[key] !== value) return false;
  // Extra rules in `specs` would add to what `spec` allows: not in sync, whatever `spec` says.
  return observed.specs === undefined && jsonEqual(desired.spec, observed.spec);
}

/** `observed` carrying the desired spec and labels, and no `specs` (resourceVersion kept for optimistic concurrency). */
export function rewritten(observed: ObservedPolicy, desired: PolicyObject): ObservedPolicy {
  const { specs: _dropped, ...rest } = observed;
  return { ...rest, metadata: { ...observed.metadata, labels: { ...observed.metadata.labels, ...desired.metadata.labels } }, spec: desired.spec };
}

function isRetained(observed: ObservedPolicy, retain: readonly RetainRule[], keys: LabelKeys): boolean {
  if (retain.length === 0) return false;
  // Only an object we would generate can be kept: anything else carrying our label is pruned.
  const source = generatedSource(observed, keys);
  return retain.some(
    (rule) =>
      (rule.anyNamespace === true || rule.namespace === observed.metadata.namespace) &&
      rule.sourceType === source?.type &&
      (rule.source === undefined || rule.source === source.source),
  );
}

/**
 * `observed` may contain objects we do not own (same names); they are reported as conflicts and
 * never updated or deleted. Owned observed objects that are neither desired nor retained are deleted.
 */
export function diffPolicies(
  desired: readonly PolicyObject[],
  observed: readonly ObservedPolicy[],
  retain: readonly RetainRule[],
  keys: LabelKeys,
): PolicyDiff {
  const result: PolicyDiff = { create: [], update: [], delete: [], conflicts: [], held: [] };
  const observedByKey = new Map(observed.map((object) => [objectKey(object), object]));
  const desiredKeys = new Set<string>();
  for (const object of desired) {
    const key = objectKey(object);
    desiredKeys.add(key);
    const current = observedByKey.get(key);
    if (!current) {
      result.create.push(object);
    } else if (!isOwned(current)) {
      result.conflicts.push({ desired: object, observed: current });
    } else if (!isInSync(object, current)) {
      result.update.push({ desired: object, observed: current, next: rewritten(current, object) });
    }
  }
  const unwanted: ObservedPolicy[] = [];
  for (const object of observed) {
    if (!isOwned(object) || desiredKeys.has(objectKey(object))) continue;
    if (!isRetained(object, retain, keys)) unwanted.push(object);
  }
  const { deletes, held } = holdReplaced(unwanted, result.conflicts.map((conflict) => conflict.desired), keys);
  result.delete = deletes;
  result.held = held;
  return result;
}

/**
 * The generated objects that exist once the operator has applied the diff: the desired ones whose
 * name is free, and the owned ones it keeps (retain rules). Objects of others are not included.
 */
export function convergedOwnedPolicies(
  desired: readonly PolicyObject[],
  observed: readonly ObservedPolicy[],
  retain: readonly RetainRule[],
  keys: LabelKeys,
): Array<PolicyObject | ObservedPolicy> {
  const diff = diffPolicies(desired, observed, retain, keys);
  const blocked = new Set(diff.conflicts.map((conflict) => objectKey(conflict.desired)));
  const deleted = new Set(diff.delete.map(objectKey));
  const desiredKeys = new Set(desired.map(objectKey));
  const result: Array<PolicyObject | ObservedPolicy> = desired.filter((object) => !blocked.has(objectKey(object)));
  for (const object of observed) {
    const key = objectKey(object);
    if (isOwned(object) && !desiredKeys.has(key) && !deleted.has(key)) result.push(object);
  }
  return result;
}

/** Namespaces holding a profile policy of ours (applied, or kept after a typo). */
export function namespacesWithOwnedProfile(observed: Iterable<KubeObject>, keys: LabelKeys): Set<string> {
  const namespaces = new Set<string>();
  for (const policy of observed) {
    if (isOwned(policy) && generatedSource(policy, keys)?.type === 'profile' && policy.metadata?.namespace) {
      namespaces.add(policy.metadata.namespace);
    }
  }
  return namespaces;
}
