// Carries out a diff against the API: creates and updates first, deletes last (make-before-break),
// deletes only the exact object observed (uid precondition), never overwrites an object without our
// managed-by label, and in dry-run mode only logs. Drift corrections are counted when an object we
// had in sync is found changed or gone while what we want of it has not changed.

import { createHash } from 'node:crypto';
import { MANAGED_BY_LABEL } from '../config.js';
import type { KubeApi } from '../kube/api.js';
import { isAlreadyExists, isConflict, isNotFound } from '../kube/api.js';
import { RESOURCES, type ResourceRef } from '../kube/resources.js';
import { type PolicyKind, type PolicyObject, objectKey, type ObservedPolicy } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import { holdReplaced, isInSync, isOwned, rewritten, type PolicyDiff } from './diff.js';
import type { LabelKeys } from '../config.js';

export interface ApplyOutcome {
  created: string[];
  updated: string[];
  deleted: string[];
  /** Desired objects whose name is held by an object we do not own. */
  conflicts: string[];
  /** The same, as objects (kind, namespace, name), for the name-conflict metric. */
  blocked: BlockedObject[];
}

/** A generated object that cannot be written because someone else's object holds its name. */
export interface BlockedObject {
  kind: PolicyKind;
  /** '' for cluster-wide objects. */
  namespace: string;
  name: string;
}

const blockedOf = (object: PolicyObject): BlockedObject => ({ kind: object.kind, namespace: object.metadata.namespace ?? '', name: object.metadata.name });

export interface ApplyContext {
  api: KubeApi;
  logger: Logger;
  dryRun: boolean;
  config: { keys: LabelKeys };
  onDriftCorrected(kind: PolicyKind): void;
}

export function policyResource(kind: PolicyKind): ResourceRef {
  return kind === 'CiliumNetworkPolicy' ? RESOURCES.ciliumNetworkPolicies : RESOURCES.ciliumClusterwideNetworkPolicies;
}

const displayName = (object: { metadata: { name: string; namespace?: string } }): string =>
  object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;

/** What we compare to tell our own writes from others': the spec, any `specs`, and our two labels. */
function contentHash(spec: unknown, specs: unknown, labels: Readonly<Record<string, string>> | undefined, generatedFromKey: string): string {
  return createHash('sha1')
    .update(JSON.stringify([spec, specs, labels?.[MANAGED_BY_LABEL], labels?.[generatedFromKey]]))
    .digest('base64');
}

/**
 * Remembers, per object, the content we last saw it in sync with. That tells drift apart from a
 * catalog change, and the echo of our own write (nothing to do) from someone else's edit.
 */
export class DriftTracker {
  /** Namespace ('' for cluster-scoped objects) → object key → content hash. */
  private readonly inSync = new Map<string, Map<string, string>>();

  constructor(private readonly generatedFromKey: string) {}

  private hash(object: { spec?: unknown; specs?: unknown; metadata: { labels?: Record<string, string> } }): string {
    return contentHash(object.spec, object.specs, object.metadata.labels, this.generatedFromKey);
  }

  private remembered(object: { kind?: string; metadata?: { namespace?: string; name?: string } }): string | undefined {
    return this.inSync.get(object.metadata?.namespace ?? '')?.get(objectKey(object));
  }

  noteInSync(desired: PolicyObject): void {
    const scope = desired.metadata.namespace ?? '';
    let entries = this.inSync.get(scope);
    if (!entries) this.inSync.set(scope, (entries = new Map()));
    entries.set(objectKey(desired), this.hash(desired));
  }

  /**
   * We had already applied exactly this desired content: finding the object changed or gone again
   * (so that it must be written again) is drift someone else caused, not a change of ours.
   */
  alreadyApplied(desired: PolicyObject): boolean {
    return this.remembered(desired) === this.hash(desired);
  }

  /** The object holds exactly what we last applied or saw in sync: the echo of our own write. */
  isEcho(observed: ObservedPolicy): boolean {
    return this.remembered(observed) === this.hash(observed);
  }

  forget(object: { kind?: string; metadata?: { namespace?: string; name?: string } }): void {
    const scope = object.metadata?.namespace ?? '';
    const entries = this.inSync.get(scope);
    entries?.delete(objectKey(object));
    if (entries?.size === 0) this.inSync.delete(scope);
  }

  /** A namespace is gone, and its objects with it. */
  forgetNamespace(namespace: string): void {
    this.inSync.delete(namespace);
  }

  get size(): number {
    let size = 0;
    for (const entries of this.inSync.values()) size += entries.size;
    return size;
  }
}

export async function applyDiff(context: ApplyContext, diff: PolicyDiff, drift: DriftTracker, desired: readonly PolicyObject[]): Promise<ApplyOutcome> {
  const { api, logger, dryRun } = context;
  const outcome: ApplyOutcome = {
    created: [],
    updated: [],
    deleted: [],
    conflicts: diff.conflicts.map((c) => displayName(c.desired)),
    blocked: diff.conflicts.map((c) => blockedOf(c.desired)),
  };
  /** Desired objects that could not be created: what they replace is not deleted (make-before-break). */
  const blocked: PolicyObject[] = diff.conflicts.map((c) => c.desired);
  const changed = new Set([...diff.create, ...diff.update.map((u) => u.desired)].map(objectKey));
  for (const object of desired) if (!changed.has(objectKey(object))) drift.noteInSync(object);

  for (const object of diff.create) {
    if (dryRun) {
      logger.info('dry-run: would create', { kind: object.kind, object: displayName(object) });
      continue;
    }
    const resource = policyResource(object.kind);
    try {
      await api.create(resource, object);
      if (drift.alreadyApplied(object)) context.onDriftCorrected(object.kind);
      outcome.created.push(displayName(object));
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      // Our cache had not seen it yet, or someone else holds the name: look before touching.
      const existing = await api.get<ObservedPolicy>(resource, object.metadata.name, object.metadata.namespace);
      if (!isOwned(existing)) {
        outcome.conflicts.push(displayName(object));
        outcome.blocked.push(blockedOf(object));
        blocked.push(object);
        continue;
      }
      if (!isInSync(object, existing)) {
        await api.update(resource, rewritten(existing, object));
        outcome.updated.push(displayName(object));
      }
    }
    drift.noteInSync(object);
  }

  for (const { desired: object, next } of diff.update) {
    if (dryRun) {
      logger.info('dry-run: would update', { kind: object.kind, object: displayName(object) });
      continue;
    }
    await api.update(policyResource(object.kind), next);
    if (drift.alreadyApplied(object)) context.onDriftCorrected(object.kind);
    drift.noteInSync(object);
    outcome.updated.push(displayName(object));
  }

  const { deletes, held } = holdReplaced(diff.delete, blocked, context.config.keys);
  for (const object of held) logger.info('kept until its replacement can be created', { kind: object.kind, object: displayName(object) });
  for (const object of deletes) {
    if (dryRun) {
      logger.info('dry-run: would delete', { kind: object.kind, object: displayName(object) });
      continue;
    }
    try {
      await api.delete(policyResource(object.kind), object.metadata.name, object.metadata.namespace, {
        preconditions: object.metadata.uid ? { uid: object.metadata.uid } : undefined,
      });
      outcome.deleted.push(displayName(object));
    } catch (error) {
      // Already gone, or replaced by a different object since we looked: nothing of ours to delete.
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
    drift.forget(object);
  }
  return outcome;
}

export function describeOutcome(outcome: ApplyOutcome): string {
  const parts: string[] = [];
  if (outcome.created.length) parts.push(`created ${outcome.created.join(', ')}`);
  if (outcome.updated.length) parts.push(`updated ${outcome.updated.join(', ')}`);
  if (outcome.deleted.length) parts.push(`deleted ${outcome.deleted.join(', ')}`);
  return parts.join('; ');
}

export const madeWrites = (outcome: ApplyOutcome): boolean => outcome.created.length + outcome.updated.length + outcome.deleted.length > 0;
