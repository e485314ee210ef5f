// The reconcilers: level-based, one per key kind. Each reads the current state from the caches,
// renders what should exist, diffs against what does, and converges. They own no retry logic: a
// thrown error goes back to the work queue, which retries with backoff.

import type { RenderConfig } from '../config.js';
import type { KubeApi } from '../kube/api.js';
import { isConflict, isNotFound } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import { RESOURCES, type ResourceRef } from '../kube/resources.js';
import { scopedApi } from '../kube/scoped-api.js';
import type { KubeObject, PolicyKind } from '../kube/types.js';
import type { Logger } from '../observability/logger.js';
import { canonicalize, jsonEqual } from '../render/canonical.js';
import { renderAccessIngressPolicy } from '../render/policies.js';
import { rejectedServiceRetain, renderClusterPolicies, renderIntent, unappliedProfileNamespaces, type RetainRule } from '../render/render.js';
import { CATALOG_API_VERSION, type CatalogKind } from '../catalog/types.js';
import { applyDiff, describeOutcome, DriftTracker, madeWrites, type ApplyOutcome, type BlockedObject } from './apply.js';
import { diffPolicies, type ObservedPolicy } from './diff.js';
import { EscapeHatchMemory, formatSince, humanDuration, nextEscapeHatchState, STATE_CONFIGMAP_NAME, stateConfigMap, type ConfigMap, type RecordProblem } from './escape-hatch.js';
import { quoteValue } from '../kube/names.js';
import { isTerminating, type ClusterState } from './state.js';
import { reportedProblems } from '../labels.js';
import type { ReconcileResult } from './workqueue.js';

/** How long to wait before looking again at a name held by someone else's object (we do not watch those). */
export const CONFLICT_RECHECK_MS = 60_000;
const STATUS_NAMESPACE_LIMIT = 100;

export interface ReconcilerContext {
  api: KubeApi;
  /** Where the escape-hatch record lives. */
  operatorNamespace: string;
  state: ClusterState;
  config: RenderConfig;
  events: EventRecorder;
  logger: Logger;
  dryRun: boolean;
  onDriftCorrected(kind: PolicyKind): void;
  /** An escape-hatch record entry was refused and rewritten. */
  onEscapeHatchRecordRefused?(reason: RecordProblem['reason']): void;
}

export const catalogResource: Record<CatalogKind, ResourceRef> = {
  NetworkProfile: RESOURCES.networkProfiles,
  SharedService: RESOURCES.sharedServices,
  NetworkBaseline: RESOURCES.networkBaselines,
};

export class Reconcilers {
  private readonly drift: DriftTracker;
  private readonly escapeHatch = new EscapeHatchMemory();
  /**
   * Generated objects blocked by someone else's object of the same name, by reconcile key
   * (`namespace/<ns>`, `sharedservice/<S>`, `cluster`): each reconcile of a key replaces its entry.
   * Only the leader reconciles, so only the leader knows (`netpol_profiles_name_conflicts`).
   */
  private readonly blocked = new Map<string, BlockedObject[]>();

  constructor(private readonly context: ReconcilerContext) {
    this.drift = new DriftTracker(context.config.keys.generatedFrom);
  }

  private get keys() {
    return this.context.config.keys;
  }

  /** Sizes of what the reconcilers remember between reconciles (tests and the soak benchmark check they stay bounded). */
  memory(): { driftEntries: number; escapeHatchEntries: number; events: number; nameConflictKeys: number } {
    return {
      driftEntries: this.drift.size,
      escapeHatchEntries: this.escapeHatch.seenDisabled.size + this.escapeHatch.since.size,
      events: this.context.events.size,
      nameConflictKeys: this.blocked.size,
    };
  }

  /** Every generated object currently blocked by a foreign object of the same name (as of each key's last reconcile). */
  nameConflicts(): BlockedObject[] {
    return [...this.blocked.values()].flat();
  }

  private noteBlocked(key: string, outcome: ApplyOutcome): void {
    if (outcome.blocked.length > 0) this.blocked.set(key, outcome.blocked);
    else this.blocked.delete(key);
  }

  /** The object is the echo of our own write (see DriftTracker). */
  isEcho(policy: ObservedPolicy): boolean {
    return this.drift.isEcho(policy);
  }

  private async apply(diff: ReturnType<typeof diffPolicies>, desired: Parameters<typeof applyDiff>[3], signal: AbortSignal | undefined): Promise<ApplyOutcome> {
    return applyDiff({ ...this.context, api: this.api(signal) }, diff, this.drift, desired);
  }

  /** The API for one reconcile: every request carries its signal (shutdown, lost leadership). */
  private api(signal: AbortSignal | undefined): KubeApi {
    return signal ? scopedApi(this.context.api, { signal }) : this.context.api;
  }

  private async reportConflicts(outcome: ApplyOutcome, target: Parameters<EventRecorder['record']>[0], signal: AbortSignal | undefined): Promise<ReconcileResult> {
    if (outcome.conflicts.length === 0) return {};
    const note = `not overwriting ${outcome.conflicts.join(', ')}: an object of that name exists without app.kubernetes.io/managed-by=netpol-profiles`;
    this.context.logger.warn('name conflict', { target: target.name, objects: outcome.conflicts });
    await this.context.events.record(target, 'Warning', 'NameConflict', note, signal);
    return { requeueAfter: CONFLICT_RECHECK_MS };
  }

  /** `profile-<P>` and `access-<S>` of one namespace. */
  async reconcileNamespace(name: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { state } = this.context;
    const namespace = state.caches.namespaces.get(name);
    // A namespace that is gone or going takes its policies with it; writing into it would only fail.
    if (!namespace || isTerminating(namespace)) {
      this.blocked.delete(`namespace/${name}`);
      if (!namespace) {
        state.forgetNamespace(name);
        this.drift.forgetNamespace(name);
        this.context.events.forgetNamespace(name);
      }
      return {};
    }
    const intent = state.intent(namespace);
    const rendered = renderIntent(intent, state.catalog(), this.context.config);
    const observed = state.namespacePolicies(name);
    const diff = diffPolicies(rendered.objects, observed, rendered.retain, this.keys);
    const outcome = await this.apply(diff, rendered.objects, signal);
    this.noteBlocked(`namespace/${name}`, outcome);
    const target = { apiVersion: 'v1', kind: 'Namespace', name, uid: namespace.metadata?.uid };
    const { shown, more } = reportedProblems(intent.problems);
    for (const problem of shown) {
      await this.context.events.record(target, 'Warning', problem.reason, `${problem.label}: ${problem.message}`, signal);
    }
    if (more > 0) {
      // One Event whatever the count, so that changing how many there are does not make new ones.
      const note = `more than ${shown.length} label problems; only the first ${shown.length} (by label key) get an Event each: see netpol-profiles status -n ${name}`;
      await this.context.events.record(target, 'Warning', 'TooManyLabelProblems', note, signal);
    }
    if (madeWrites(outcome)) {
      this.context.logger.info('policies applied', { namespace: name, changes: describeOutcome(outcome) });
      await this.context.events.record(target, 'Normal', 'PoliciesApplied', describeOutcome(outcome), signal);
    }
    return this.reportConflicts(outcome, target, signal);
  }

  /** `access-<S>-ingress` in the service's namespace. */
  async reconcileSharedService(name: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const { state } = this.context;
    const catalog = state.catalog();
    const service = catalog.services.get(name);
    const granted = service?.manageIngress
      ? state
          .liveIntents()
          .filter((intent) => intent.access.includes(name))
          .map((intent) => intent.namespace)
      : [];
    const policy = service ? renderAccessIngressPolicy(service, granted, this.keys) : undefined;
    const observed = state.ownedPoliciesFrom('access-ingress', name);
    const retain: RetainRule[] = rejectedServiceRetain(catalog, [name]);
    // Nothing can be written into a home namespace that does not exist or is going away; what is
    // there goes with it.
    const home = policy ? state.caches.namespaces.get(policy.metadata.namespace!) : undefined;
    const homeWritable = home !== undefined && !isTerminating(home);
    if (policy && !homeWritable) retain.push({ namespace: policy.metadata.namespace, sourceType: 'access-ingress', source: name });
    const desired = policy && homeWritable ? [policy] : [];
    const diff = diffPolicies(desired, observed, retain, this.keys);
    const outcome = await this.apply(diff, desired, signal);
    this.noteBlocked(`sharedservice/${name}`, outcome);
    if (madeWrites(outcome)) this.context.logger.info('policies applied', { sharedService: name, changes: describeOutcome(outcome) });
    return this.reportConflicts(outcome, { apiVersion: CATALOG_API_VERSION, kind: 'SharedService', name }, signal);
  }

  /** The cluster-wide objects: the escape hatch and the baselines. */
  async reconcileCluster(signal?: AbortSignal): Promise<ReconcileResult> {
    const { state } = this.context;
    const unapplied = unappliedProfileNamespaces(state.liveIntents(), (namespace) => state.namespacePolicies(namespace).some((policy) => state.sourceOf(policy)?.type === 'profile'));
    const { objects, retain } = renderClusterPolicies(state.catalog(), this.context.config, unapplied);
    const diff = diffPolicies(objects, state.caches.clusterPolicies.list(), retain, this.keys);
    const outcome = await this.apply(diff, objects, signal);
    this.noteBlocked('cluster', outcome);
    if (madeWrites(outcome)) this.context.logger.info('policies applied', { cluster: true, changes: describeOutcome(outcome) });
    return this.reportConflicts(outcome, { apiVersion: 'v1', kind: 'Namespace', name: 'default' }, signal);
  }

  /**
   * The escape-hatch record: when each namespace was first seen with enforcement disabled, kept in
   * the ConfigMap so every replica and every restart reports the same time; Events on the change.
   * Entries that cannot be trusted (not RFC 3339, in the future) are rewritten and reported.
   */
  async reconcileEscapeHatchState(signal?: AbortSignal, now: () => number = () => Math.floor(Date.now() / 1000)): Promise<ReconcileResult> {
    const { state, operatorNamespace, logger } = this.context;
    const api = this.api(signal);
    const current = state.caches.state.get(STATE_CONFIGMAP_NAME, operatorNamespace);
    const changes = nextEscapeHatchState(current, state.liveIntents(), now(), this.escapeHatch);
    if (changes.changed) {
      if (this.context.dryRun) {
        logger.info('dry-run: would record escape-hatch state', { configMap: `${operatorNamespace}/${STATE_CONFIGMAP_NAME}`, data: changes.data });
      } else if (current) {
        await api.update(RESOURCES.configMaps, { ...current, data: changes.data });
      } else {
        await api.create(RESOURCES.configMaps, stateConfigMap(operatorNamespace, changes.data));
      }
    }
    const namespaceTarget = (namespace: string) => {
      const live = state.caches.namespaces.get(namespace);
      return live ? { apiVersion: 'v1', kind: 'Namespace', name: namespace, uid: live.metadata?.uid } : undefined;
    };
    for (const { namespace, value, reason, since } of changes.corrected) {
      const why = reason === 'InFuture' ? 'is in the future' : 'is not an RFC 3339 time';
      const message = `${STATE_CONFIGMAP_NAME} had disabled-since ${quoteValue(value)} for this namespace, which ${why}; recorded ${formatSince(since)} instead`;
      logger.warn('escape-hatch record refused', { namespace, value, reason, recorded: formatSince(since) });
      this.context.onEscapeHatchRecordRefused?.(reason);
      const target = namespaceTarget(namespace);
      if (target) await this.context.events.record(target, 'Warning', 'InvalidEscapeHatchRecord', message, signal);
    }
    for (const namespace of changes.dropped) {
      logger.info('escape-hatch record cleared', { namespace, reason: 'the namespace was never seen with enforcement disabled' });
    }
    for (const { namespace, since } of changes.disabled) {
      logger.warn('enforcement disabled', { namespace, since: formatSince(since) });
      const target = namespaceTarget(namespace);
      if (!target) continue;
      // Warning: all traffic of the namespace is allowed, which on-call must see among the warnings.
      await this.context.events.record(
        target,
        'Warning',
        'EnforcementDisabled',
        `escape hatch on since ${formatSince(since)}: escape-hatch-allow-all allows all traffic for this namespace`,
        signal,
      );
    }
    for (const { namespace, since } of changes.restored) {
      logger.info('enforcement restored', { namespace, disabledFor: humanDuration(now() - since) });
      const target = namespaceTarget(namespace);
      if (!target) continue; // the namespace is gone: nothing to tell it
      await this.context.events.record(
        target,
        'Normal',
        'EnforcementRestored',
        `enforcement restored; the escape hatch was on since ${formatSince(since)} (${humanDuration(now() - since)})`,
        signal,
      );
    }
    return {};
  }

  /** A replica saw the record change or a namespace disabled (all replicas call this, so a new leader knows). */
  noteEscapeHatch(record: ConfigMap | undefined, disabledNamespace?: string): void {
    this.escapeHatch.noteRecord(record, Math.floor(Date.now() / 1000));
    if (disabledNamespace !== undefined) this.escapeHatch.seenDisabled.add(disabledNamespace);
  }

  /** Namespaces that use a catalog object (sorted). */
  usersOf(kind: CatalogKind, name: string): string[] {
    if (kind === 'NetworkBaseline') return [];
    return this.context.state
      .liveIntents()
      .filter((intent) =>
        kind === 'NetworkProfile'
          ? (intent.profile.state === 'valid' || intent.profile.state === 'unavailable') && intent.profile.name === name
          : intent.access.includes(name) || intent.retainedAccess.includes(name),
      )
      .map((intent) => intent.namespace)
      .sort();
  }

  /** Status (`namespaceCount`, `namespaces`, `Ready` condition) and the in-use finalizer of one catalog object. */
  async reconcileCatalogObject(key: string, signal?: AbortSignal): Promise<ReconcileResult> {
    const [kind, name] = key.split('/') as [CatalogKind, string];
    const { state } = this.context;
    const api = this.api(signal);
    const cache = { NetworkProfile: state.caches.profiles, SharedService: state.caches.services, NetworkBaseline: state.caches.baselines }[kind];
    const object = cache.get(name);
    if (!object) return {};
    const resource = catalogResource[kind];
    const users = this.usersOf(kind, name);
    const finalizer = this.keys.inUseFinalizer;
    const finalizers = object.metadata?.finalizers ?? [];
    const deleting = object.metadata?.deletionTimestamp !== undefined;
    const target = { apiVersion: CATALOG_API_VERSION, kind, name, uid: object.metadata?.uid };

    // The finalizer first: it is what protects namespaces from losing their policies. Baselines are
    // never referred to by a namespace, so they never carry it; the operator may not patch them
    // (least privilege), and leaves a finalizer someone copied onto one alone.
    const wantFinalizer = users.length > 0;
    if (kind !== 'NetworkBaseline' && wantFinalizer !== finalizers.includes(finalizer)) {
      if (this.context.dryRun) {
        this.context.logger.info(`dry-run: would ${wantFinalizer ? 'add' : 'remove'} finalizer`, { kind, name });
      } else {
        const next = wantFinalizer ? [...finalizers, finalizer] : finalizers.filter((f) => f !== finalizer);
        try {
          await api.patch(resource, name, undefined, [
            { op: 'test', path: '/metadata/resourceVersion', value: object.metadata?.resourceVersion },
            { op: 'add', path: '/metadata/finalizers', value: next },
          ], 'json');
        } catch (error) {
          if (isNotFound(error)) return {};
          throw error;
        }
        return {}; // the watch brings the new version back, and with it the status pass
      }
    }
    if (deleting && users.length > 0) {
      await this.context.events.record(
        target,
        'Warning',
        'InUse',
        `deletion waits until no namespace uses it; still used by ${users.length}: ${users.slice(0, 20).join(', ')}${users.length > 20 ? ', …' : ''}`,
        signal,
      );
    }
    await this.updateCatalogStatus(object, resource, kind, name, users, signal);
    return {};
  }

  private async updateCatalogStatus(
    object: KubeObject,
    resource: ResourceRef,
    kind: CatalogKind,
    name: string,
    users: string[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const problems = this.context.state.catalogProblems(`${kind}/${name}`);
    const current = (object.status ?? {}) as { conditions?: Array<Record<string, unknown>>; [key: string]: unknown };
    const ready = problems.length === 0;
    const previous = current.conditions?.find((c) => c.type === 'Ready');
    const reason = ready ? 'Valid' : 'Invalid';
    const message = ready ? (kind === 'NetworkBaseline' ? 'rendered as baseline-' + name : `used by ${users.length} namespace(s)`) : problems.join('; ');
    const generation = object.metadata?.generation;
    const condition = {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason,
      message: message.slice(0, 32768),
      observedGeneration: generation,
      lastTransitionTime: previous && previous.status === (ready ? 'True' : 'False') ? previous.lastTransitionTime : new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    const status: Record<string, unknown> =
      kind === 'NetworkBaseline'
        ? { observedGeneration: generation, conditions: [condition] }
        : { observedGeneration: generation, namespaceCount: users.length, namespaces: users.slice(0, STATUS_NAMESPACE_LIMIT), conditions: [condition] };
    if (sameStatus(current, status)) return;
    if (this.context.dryRun) return;
    try {
      await this.api(signal).updateStatus(resource, { ...object, status });
    } catch (error) {
      // A newer version is on its way through the watch; the next pass writes from it.
      if (!isConflict(error) && !isNotFound(error)) throw error;
    }
    if (!ready && (!previous || previous.status !== 'False' || previous.message !== condition.message)) {
      await this.context.events.record({ apiVersion: CATALOG_API_VERSION, kind, name, uid: object.metadata?.uid }, 'Warning', 'Invalid', message, signal);
    }
  }
}

function sameStatus(current: Record<string, unknown>, next: Record<string, unknown>): boolean {
  const strip = (status: Record<string, unknown>) => ({
    ...status,
    conditions: ((status.conditions as Array<Record<string, unknown>> | undefined) ?? []).map(({ lastTransitionTime: _t, ...rest }) => rest),
  });
  return jsonEqual(canonicalize(strip(current)), canonicalize(strip(next)));
}
