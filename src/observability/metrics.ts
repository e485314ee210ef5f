// Every metric of SPEC section 6 on one prom-client registry. Counters and histograms are updated
// as things happen; the gauges about namespaces and policies are computed from the operator's
// caches at scrape time, so every replica (standbys included) serves them and a namespace's series
// disappear the moment its problem or escape hatch does.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RestartReason } from '../kube/informer.js';
import type { ReconcileOutcome, WorkQueueMetrics } from '../reconcile/workqueue.js';

export interface GaugeSnapshot {
  /** Namespaces with the escape hatch on → Unix seconds it was first seen disabled (undefined if not yet recorded). */
  enforcementDisabled: ReadonlyMap<string, number | undefined>;
  /** Profile name (or `none`) → non-protected namespaces using it. */
  namespacesPerProfile: ReadonlyMap<string, number>;
  /** `value` is 1, or for the `(more)` series of a namespace with many problems, how many more. */
  labelErrors: ReadonlyArray<{ namespace: string; label: string; reason: string; value: number }>;
  /** Generated objects that exist, by kind. */
  managedPolicies: ReadonlyMap<string, number>;
  /** Catalog objects that fail validation (their Ready condition is False). */
  catalogInvalid: ReadonlyArray<{ kind: string; name: string }>;
  /** Generated objects blocked by a foreign object of the same name (the leader's last reconciles; none on a standby). */
  nameConflicts: ReadonlyArray<{ kind: string; namespace: string; name: string }>;
}

/** `label` and `reason` of the one series that counts a namespace's label problems beyond the first few. */
export const MORE_LABEL_PROBLEMS = '(more)';

/** Every controller's name (`src/controllers/`): their series start at 0, so the first failures count. */
export const CONTROLLERS = ['namespace', 'sharedservice', 'cluster', 'escape-hatch-record', 'catalog'] as const;
export type ControllerName = (typeof CONTROLLERS)[number];
export const WRITE_KINDS = [
  'CiliumNetworkPolicy',
  'CiliumClusterwideNetworkPolicy',
  'NetworkProfile',
  'SharedService',
  'NetworkBaseline',
  'ConfigMap',
  'Event',
  'Lease',
] as const;
const WRITE_VERBS = ['create', 'update', 'patch', 'delete'] as const;
const POLICY_KINDS = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'] as const;
/** What the operator's caches watch (resource plurals), for series that start at 0. */
const WATCHED_RESOURCES = [
  'namespaces',
  'networkprofiles',
  'sharedservices',
  'networkbaselines',
  'ciliumnetworkpolicies',
  'ciliumclusterwidenetworkpolicies',
  'configmaps',
] as const;
const WATCH_RESTART_REASONS: readonly RestartReason[] = ['closed', 'gone', 'stall', 'error'];

export class OperatorMetrics implements WorkQueueMetrics {
  readonly registry = new Registry();
  private snapshot: () => GaugeSnapshot | undefined = () => undefined;
  private leading: () => boolean = () => false;

  readonly reconcileTotal = new Counter({
    name: 'netpol_profiles_reconcile_total',
    help: 'Reconciles, by controller and result (success, error, requeue).',
    labelNames: ['controller', 'result'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'netpol_profiles_reconcile_duration_seconds',
    help: 'Time spent in one reconcile, by controller.',
    labelNames: ['controller'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly workqueueDepth = new Gauge({
    name: 'netpol_profiles_workqueue_depth',
    help: 'Keys waiting in the work queue, by controller.',
    labelNames: ['controller'] as const,
    registers: [this.registry],
  });
  readonly apiWrites = new Counter({
    name: 'netpol_profiles_api_writes_total',
    help: 'Create, update, patch and delete requests sent to the API server, by verb and kind.',
    labelNames: ['verb', 'kind'] as const,
    registers: [this.registry],
  });
  readonly driftCorrections = new Counter({
    name: 'netpol_profiles_drift_corrections_total',
    help: 'Generated objects restored after they were edited or deleted by someone else, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly watchRestarts = new Counter({
    name: 'netpol_profiles_watch_restarts_total',
    help: 'Watch restarts, by resource and reason (closed, gone, stall, error, resync).',
    labelNames: ['resource', 'reason'] as const,
    registers: [this.registry],
  });
  readonly escapeHatchRecordRefused = new Counter({
    name: 'netpol_profiles_escape_hatch_record_refused_total',
    help: 'Entries of the escape-hatch record (ConfigMap netpol-profiles-state) refused and rewritten, by reason (Unparsable, InFuture).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: 'netpol_profiles_build_info',
    help: 'Always 1; the version label says which build is running.',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });

  constructor(version: string) {
    // The gauges' collect() runs with the gauge as `this`; read the snapshot through a closure.
    const read = (): GaugeSnapshot | undefined => this.snapshot();
    const leading = (): boolean => this.leading();
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version }, 1);
    // Read at scrape time from the elector: 1 only while the last renewal is within the renew
    // deadline, so two replicas never both say 1, even when the old leader's event loop lags.
    new Gauge({
      name: 'netpol_profiles_leader',
      help: '1 on the replica that holds the leader lease.',
      registers: [this.registry],
      collect() {
        this.set(leading() ? 1 : 0);
      },
    });
    for (const controller of CONTROLLERS) {
      for (const result of ['success', 'error', 'requeue'] as const) this.reconcileTotal.inc({ controller, result }, 0);
      this.workqueueDepth.set({ controller }, 0);
      this.reconcileDuration.zero({ controller });
    }
    for (const verb of WRITE_VERBS) for (const kind of WRITE_KINDS) this.apiWrites.inc({ verb, kind }, 0);
    for (const kind of POLICY_KINDS) this.driftCorrections.inc({ kind }, 0);
    for (const reason of ['Unparsable', 'InFuture']) this.escapeHatchRecordRefused.inc({ reason }, 0);
    for (const resource of WATCHED_RESOURCES) for (const reason of WATCH_RESTART_REASONS) this.watchRestarts.inc({ resource, reason }, 0);

    new Gauge({
      name: 'netpol_profiles_enforcement_disabled',
      help: '1 for each namespace with the escape hatch on (enforcement=disabled); no series otherwise.',
      labelNames: ['namespace'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const namespace of read()?.enforcementDisabled.keys() ?? []) this.set({ namespace }, 1);
      },
    });
    new Gauge({
      name: 'netpol_profiles_enforcement_disabled_since_timestamp_seconds',
      help: 'Unix time a namespace was first seen with enforcement disabled (durable across restarts).',
      labelNames: ['namespace'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [namespace, since] of read()?.enforcementDisabled ?? []) {
          if (since !== undefined) this.set({ namespace }, since);
        }
      },
    });
    new Gauge({
      name: 'netpol_profiles_namespaces',
      help: 'Non-protected namespaces per profile (profile="none" for namespaces without one).',
      labelNames: ['profile'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [profile, count] of read()?.namespacesPerProfile ?? []) this.set({ profile }, count);
      },
    });
    new Gauge({
      name: 'netpol_profiles_label_errors',
      help: '1 for each current label problem, by namespace, label and reason; beyond 5 in a namespace, one series label="(more)" counts the rest.',
      labelNames: ['namespace', 'label', 'reason'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { value, ...labels } of read()?.labelErrors ?? []) this.set(labels, value);
      },
    });
    new Gauge({
      name: 'netpol_profiles_catalog_invalid',
      help: '1 for each catalog object that fails validation (Ready=False, reason Invalid), by kind and name; no series otherwise.',
      labelNames: ['kind', 'name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { kind, name } of read()?.catalogInvalid ?? []) this.set({ kind, name }, 1);
      },
    });
    new Gauge({
      name: 'netpol_profiles_name_conflicts',
      help: "1 for each generated object the leader cannot write because an object of the same name without our managed-by label holds it, by kind, namespace ('' for cluster-wide) and name.",
      labelNames: ['kind', 'namespace', 'name'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { kind, namespace, name } of read()?.nameConflicts ?? []) this.set({ kind, namespace, name }, 1);
      },
    });
    new Gauge({
      name: 'netpol_profiles_managed_policies',
      help: 'Generated policy objects that exist, by kind.',
      labelNames: ['kind'] as const,
      registers: [this.registry],
      collect() {
        const counts = read()?.managedPolicies;
        for (const kind of POLICY_KINDS) this.set({ kind }, counts?.get(kind) ?? 0);
      },
    });
  }

  /** Whether this replica leads (and may write), for `netpol_profiles_leader`. */
  setLeaderSource(source: () => boolean): void {
    this.leading = source;
  }

  /** Where the scrape-time gauges read the cluster's state from (the operator's caches). */
  setSnapshotSource(source: () => GaugeSnapshot | undefined): void {
    this.snapshot = source;
  }

  depthChanged(controller: string, depth: number): void {
    this.workqueueDepth.set({ controller }, depth);
  }

  reconcileFinished(controller: string, outcome: ReconcileOutcome, durationSeconds: number): void {
    this.reconcileTotal.inc({ controller, result: outcome });
    this.reconcileDuration.observe({ controller }, durationSeconds);
  }

  countWrite(verb: string, kind: string): void {
    this.apiWrites.inc({ verb, kind });
  }
}
