// What the three policy controllers (namespace, shared-service, cluster-objects) share: diff the
// desired objects against the observed ones and apply the difference, remember what was applied
// (to tell our own echoes from someone else's edit, and to count drift), and remember which names
// are held by someone else's object (the `netpol_profiles_name_conflicts` gauge).

import type { RenderConfig } from '../config.js';
import type { KubeApi } from '../kube/api.js';
import type { EventRecorder, EventTarget } from '../kube/events.js';
import { scopedApi } from '../kube/scoped-api.js';
import type { PolicyKind, ObservedPolicy } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import { applyDiff, describeOutcome, DriftTracker, madeWrites, type ApplyOutcome, type BlockedObject } from '../reconcile/apply.js';
import { diffPolicies } from '../reconcile/diff.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import type { DesiredObjects } from '../render/render.js';

/** How long to wait before looking again at a name held by someone else's object (we do not watch those). */
export const CONFLICT_RECHECK_MS = 60_000;

export interface PolicyWriterOptions {
  /** Writes pass the leader's fence (see `Operator`). */
  api: KubeApi;
  config: RenderConfig;
  events: EventRecorder;
  logger: Logger;
  dryRun: boolean;
  onDriftCorrected(kind: PolicyKind): void;
}

export class PolicyWriter {
  private readonly applied: DriftTracker;
  /**
   * Generated objects blocked by someone else's object of the same name, by reconcile key
   * (`namespace/<ns>`, `sharedservice/<S>`, `cluster`): each reconcile of a key replaces its
   * entry. Only the leader reconciles, so only the leader knows.
   */
  private readonly blocked = new Map<string, BlockedObject[]>();

  constructor(private readonly options: PolicyWriterOptions) {
    this.applied = new DriftTracker(options.config.keys.generatedFrom);
  }

  /** The object holds exactly what we last applied or saw in sync: the echo of our own write, nothing to do. */
  isEcho(policy: ObservedPolicy): boolean {
    return this.applied.isEcho(policy);
  }

  /**
   * Makes `observed` what `desired` says: creates and updates, then deletes, each request carrying
   * `signal`. `subject` names the key in the log and in the name-conflict memory.
   */
  async converge(subject: string, desired: DesiredObjects, observed: readonly ObservedPolicy[], signal: AbortSignal, log: Record<string, unknown>): Promise<ApplyOutcome> {
    const { config, logger, dryRun, onDriftCorrected } = this.options;
    const diff = diffPolicies(desired.objects, observed, desired.retain, config.keys);
    const api = scopedApi(this.options.api, { signal });
    const outcome = await applyDiff({ api, logger, dryRun, config, onDriftCorrected }, diff, this.applied, desired.objects);
    if (outcome.blocked.length > 0) this.blocked.set(subject, outcome.blocked);
    else this.blocked.delete(subject);
    if (madeWrites(outcome)) logger.info('policies applied', { ...log, changes: describeOutcome(outcome) });
    return outcome;
  }

  /** A Warning Event on `target` for objects we did not write because someone else's object holds the name; look again later. */
  async reportConflicts(outcome: ApplyOutcome, target: EventTarget, signal: AbortSignal): Promise<ReconcileResult> {
    if (outcome.conflicts.length === 0) return {};
    const note = `not overwriting ${outcome.conflicts.join(', ')}: an object of that name exists without app.kubernetes.io/managed-by=netpol-profiles`;
    this.options.logger.warn('name conflict', { target: target.name, objects: outcome.conflicts });
    await this.options.events.record(target, 'Warning', 'NameConflict', note, signal);
    return { requeueAfter: CONFLICT_RECHECK_MS };
  }

  /** A key's objects are gone (its namespace was deleted): nothing of it is blocked any more. */
  forget(subject: string, namespace?: string): void {
    this.blocked.delete(subject);
    if (namespace !== undefined) this.applied.forgetNamespace(namespace);
  }

  /** Every generated object currently blocked by a foreign object of the same name (as of each key's last reconcile). */
  nameConflicts(): BlockedObject[] {
    return [...this.blocked.values()].flat();
  }

  memory(): Record<string, number> {
    return { driftEntries: this.applied.size, nameConflictKeys: this.blocked.size };
  }
}
