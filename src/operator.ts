// The operator: list-watch caches feed keyed work queues that drive the reconcilers. Every replica
// keeps warm caches and serves metrics; only the leader runs the queues (and so writes). Informer
// handlers only enqueue keys; nothing is reconciled, and so nothing pruned, before every cache has
// finished its first list.

import type { RenderConfig } from './config.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './config.js';
import type { KubeApi } from './kube/api.js';
import { compactPolicy, SpecInterner, withoutManagedFields } from './kube/compact.js';
import { EventRecorder } from './kube/events.js';
import { ListWatchCache, type CacheEventType } from './kube/informer.js';
import { LEASE_MODE_ANNOTATION, LeaderElector, NotLeaderError, type LeaderElectionOptions } from './kube/leader.js';
import { scopedApi } from './kube/scoped-api.js';
import { RESOURCES, type ResourceRef } from './kube/resources.js';
import type { KubeObject, Namespace } from './kube/types.js';
import { errorMessage, type Logger } from './observability/logger.js';
import type { ClusterSnapshot, OperatorMetrics } from './observability/metrics.js';
import type { ObservedPolicy } from './reconcile/diff.js';
import { Reconcilers } from './reconcile/reconcilers.js';
import { ClusterState, isTerminating, type ObjectCache, type StateCaches } from './reconcile/state.js';
import { WorkQueue, type AddPriority } from './reconcile/workqueue.js';
import type { CatalogKind } from './catalog/types.js';
import { readDisabledSince, STATE_CONFIGMAP_NAME, type ConfigMap } from './reconcile/escape-hatch.js';
import { reportedProblems } from './labels.js';
import { MORE_LABEL_PROBLEMS } from './observability/metrics.js';

/** Leader election as `run` configures it: the LeaderElector's settings, and whether to campaign at all. */
export type LeaderElectionSettings = Pick<
  LeaderElectionOptions,
  'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'
> & { enabled: boolean };

export interface CacheSettings {
  stallTimeoutMs?: number;
  pageSize?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
}

export interface OperatorOptions {
  api: KubeApi;
  /** The operator's own namespace: the escape-hatch record lives here. */
  operatorNamespace: string;
  config: RenderConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  concurrency: number;
  dryRun: boolean;
  leaderElection: LeaderElectionSettings;
  cache?: CacheSettings;
  /** Catalog status writes are coalesced: at most one per object per this many ms. */
  statusDelayMs?: number;
  /** Every key is reconciled again this often (low priority): nothing waits on a long backoff or a missed event. 0: never. */
  resyncPeriodMs?: number;
  /** Called when this replica loses the lease after having held it (the process should exit). */
  onLostLeadership?: (reason: string) => void;
}

const CLUSTER_KEY = 'cluster';
/** The escape-hatch record; reconciled by the cluster controller. */
const STATE_KEY = 'escape-hatch-state';

export class Operator {
  readonly state: ClusterState;
  private readonly caches: Array<ListWatchCache<KubeObject>> = [];
  private readonly reconcilers: Reconcilers;
  private queues: { namespace: WorkQueue; sharedservice: WorkQueue; cluster: WorkQueue; catalog: WorkQueue } | undefined;
  private readonly elector: LeaderElector | undefined;
  private readonly pendingStatus = new Map<string, NodeJS.Timeout>();
  private readonly interner = new SpecInterner();
  /** Services that have (or had) an access-ingress object: their key must follow namespace changes. */
  private readonly servicesWithIngress = new Set<string>();
  private stopping = false;
  private leading = false;
  /** Aborted when this replica stops leading: every request of the term is cancelled. */
  private term: AbortController | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OperatorOptions) {
    const { api, config, logger, metrics } = options;
    const managed = { labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` };
    const interner = this.interner;
    const cache = <T extends KubeObject>(
      resource: ResourceRef,
      onChange: (object: T, old: T | undefined, type: CacheEventType) => void,
      selector: { labelSelector?: string; fieldSelector?: string } = {},
      namespace?: string,
    ) => {
      const isPolicy = resource === RESOURCES.ciliumNetworkPolicies || resource === RESOURCES.ciliumClusterwideNetworkPolicies;
      const informer = new ListWatchCache<T>({
        api,
        resource,
        ...selector,
        namespace,
        // An access-<S>-ingress spec is unique to its object (and new with every grant): not shared.
        transform: isPolicy ? (object) => compactPolicy(object, this.state?.sourceOf(object)?.type === 'access-ingress' ? undefined : interner) : withoutManagedFields,
        pageSize: options.cache?.pageSize,
        stallTimeoutMs: options.cache?.stallTimeoutMs,
        backoff: { baseMs: options.cache?.backoffBaseMs ?? 200, capMs: options.cache?.backoffCapMs ?? 30_000 },
        onChange: (event) => {
          if (this.state?.hasSynced()) onChange(event.object, event.old, event.type);
        },
        onRestart: (reason) => {
          metrics.watchRestarts.inc({ resource: resource.plural, reason });
          logger.debug('watch restarted', { resource: resource.plural, reason });
        },
        logger,
      });
      this.caches.push(informer as unknown as ListWatchCache<KubeObject>);
      return informer as ObjectCache<T>;
    };
    const caches: StateCaches = {
      namespaces: cache<Namespace>(RESOURCES.namespaces, (ns, old) => this.namespaceChanged(ns, old)),
      profiles: cache(RESOURCES.networkProfiles, (object, old) => this.catalogChanged('NetworkProfile', object, old)),
      services: cache(RESOURCES.sharedServices, (object, old) => this.catalogChanged('SharedService', object, old)),
      baselines: cache(RESOURCES.networkBaselines, (object, old) => this.catalogChanged('NetworkBaseline', object, old)),
      policies: cache<ObservedPolicy>(RESOURCES.ciliumNetworkPolicies, (policy, _old, type) => this.policyChanged(policy, type), managed),
      // By name, not label: RBAC then limits list and watch to this one ConfigMap, and a copy that
      // lost its label (restored from a backup) is still seen and updated rather than re-created.
      state: cache<ConfigMap>(
        RESOURCES.configMaps,
        (configMap) => {
          this.reconcilers.noteEscapeHatch(configMap);
          this.add('cluster', STATE_KEY);
        },
        { fieldSelector: `metadata.name=${STATE_CONFIGMAP_NAME}` },
        options.operatorNamespace,
      ),
      clusterPolicies: cache<ObservedPolicy>(
        RESOURCES.ciliumClusterwideNetworkPolicies,
        (policy, _old, type) => {
          if (type === 'deleted' || !this.reconcilers.isEcho(policy)) this.add('cluster', CLUSTER_KEY, 'low');
        },
        managed,
      ),
    };
    this.state = new ClusterState(caches, config);
    if (options.leaderElection.enabled) {
      const { enabled: _enabled, ...settings } = options.leaderElection;
      this.elector = new LeaderElector({
        ...settings,
        api,
        annotations: { [LEASE_MODE_ANNOTATION]: options.dryRun ? 'dry-run' : 'enforce' },
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: (reason) => this.lostLeadership(reason),
        onError: (error) => logger.warn('leader election', { error: errorMessage(error) }),
      });
    }
    // Every write of the reconcilers and of Events passes this fence right before it is sent: with
    // leader election, only within the renew deadline of the last renewal (fencing by time).
    const elector = this.elector;
    const writeApi = scopedApi(api, {
      fence: elector
        ? () => elector.checkCanWrite()
        : () => {
            if (!this.leading) throw new NotLeaderError('the operator is not running its controllers; write not sent');
          },
    });
    const events = new EventRecorder(
      writeApi,
      options.leaderElection.identity,
      (error) => logger.warn('event not recorded', { error: errorMessage(error) }),
      options.dryRun ? { onDryRun: (event) => logger.info('dry-run: would record event', event) } : undefined,
    );
    this.reconcilers = new Reconcilers({
      api: writeApi,
      operatorNamespace: options.operatorNamespace,
      state: this.state,
      config,
      events,
      logger,
      dryRun: options.dryRun,
      onDriftCorrected: (kind) => metrics.driftCorrections.inc({ kind }),
      onEscapeHatchRecordRefused: (reason) => metrics.escapeHatchRecordRefused.inc({ reason }),
    });
    metrics.setSnapshotSource(() => (this.state.hasSynced() ? this.snapshot() : undefined));
    metrics.setLeaderSource(() => this.isLeader());
  }

  /** Starts the caches and the campaign for leadership; resolves once the caches have synced. */
  async start(signal?: AbortSignal): Promise<void> {
    for (const informer of this.caches) informer.start();
    await Promise.all(this.caches.map((informer) => informer.waitForSync(signal)));
    this.options.logger.info('caches synced', { namespaces: this.state.caches.namespaces.list().length });
    this.reconcilers.noteEscapeHatch(this.state.caches.state.get(STATE_CONFIGMAP_NAME, this.options.operatorNamespace));
    for (const intent of this.state.liveIntents()) if (intent.enforcementDisabled) this.reconcilers.noteEscapeHatch(undefined, intent.namespace);
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  isReady(): boolean {
    return this.state.hasSynced();
  }

  /** Leads and may write: with leader election, only within the renew deadline of the last renewal. */
  isLeader(): boolean {
    return this.leading && (this.elector?.isLeader() ?? true);
  }

  private startLeading(): void {
    if (this.stopping || this.leading) return;
    this.leading = true;
    const term = new AbortController();
    this.term = term;
    this.options.logger.info('became leader', { identity: this.options.leaderElection.identity });
    const make = (controller: string, reconcile: (key: string, signal: AbortSignal) => Promise<{ requeueAfter?: number } | void>, concurrency: number) =>
      new WorkQueue({
        controller,
        concurrency,
        reconcile,
        signal: term.signal,
        metrics: this.options.metrics,
        onError: (key, error, retryInMs) => {
          if (!term.signal.aborted) this.options.logger.warn('reconcile failed', { controller, key, error: errorMessage(error), retryInMs });
        },
      });
    const r = this.reconcilers;
    this.queues = {
      namespace: make('namespace', (key, signal) => r.reconcileNamespace(key, signal), this.options.concurrency),
      sharedservice: make('sharedservice', (key, signal) => r.reconcileSharedService(key, signal), Math.min(2, this.options.concurrency)),
      cluster: make('cluster', (key, signal) => (key === STATE_KEY ? r.reconcileEscapeHatchState(signal) : r.reconcileCluster(signal)), 1),
      catalog: make('catalog', (key, signal) => r.reconcileCatalogObject(key, signal), Math.min(2, this.options.concurrency)),
    };
    this.enqueueEverything('low');
    this.scheduleResync();
  }

  /** Periodic resync: every key again, in the low lane, so live changes go first. */
  private scheduleResync(): void {
    const every = this.options.resyncPeriodMs ?? 0;
    if (every <= 0) return;
    this.resyncTimer = setTimeout(() => {
      if (!this.queues) return;
      this.options.logger.debug('resync');
      this.enqueueEverything('low');
      this.scheduleResync();
    }, every);
  }

  private lostLeadership(reason: string): void {
    if (!this.leading) return;
    this.options.logger.error('lost leadership; stopping', { identity: this.options.leaderElection.identity, reason });
    this.leading = false;
    // No write after this moment: in-flight requests are aborted, queued keys dropped.
    this.term?.abort(new NotLeaderError(`leadership lost: ${reason}`));
    clearTimeout(this.resyncTimer);
    const queues = this.queues;
    this.queues = undefined;
    if (queues) void Promise.all(Object.values(queues).map((queue) => queue.shutDown({ drainTimeoutMs: 0 })));
    this.options.onLostLeadership?.(reason);
  }

  /** Every key there is, including keys of orphans (generated objects whose source is gone). */
  private enqueueEverything(priority: AddPriority): void {
    this.add('cluster', CLUSTER_KEY, priority);
    this.add('cluster', STATE_KEY, priority);
    const namespaces = new Set(this.state.caches.namespaces.list().map((ns) => ns.metadata?.name ?? ''));
    const services = new Set([...this.state.caches.services.list()].map((s) => s.metadata?.name ?? ''));
    for (const policy of this.state.caches.policies.list()) {
      const source = this.state.sourceOf(policy);
      if (source?.type === 'access-ingress') {
        services.add(source.source);
        this.servicesWithIngress.add(source.source);
      }
      else if (policy.metadata.namespace) namespaces.add(policy.metadata.namespace);
    }
    for (const name of services) this.add('sharedservice', name, priority);
    for (const name of namespaces) this.add('namespace', name, priority);
    for (const [kind, cache] of [
      ['NetworkProfile', this.state.caches.profiles],
      ['SharedService', this.state.caches.services],
      ['NetworkBaseline', this.state.caches.baselines],
    ] as const) {
      for (const object of cache.list()) this.add('catalog', `${kind}/${object.metadata?.name}`, priority);
    }
  }

  private add(queue: 'namespace' | 'sharedservice' | 'cluster' | 'catalog', key: string, priority: AddPriority = 'normal'): void {
    this.queues?.[queue].add(key, { priority });
  }

  /** Catalog status is coalesced: counts change with every namespace during a sync. */
  private addStatus(kind: CatalogKind, name: string): void {
    const key = `${kind}/${name}`;
    if (!this.queues || this.pendingStatus.has(key)) return;
    this.pendingStatus.set(
      key,
      setTimeout(() => {
        this.pendingStatus.delete(key);
        this.add('catalog', key);
      }, this.options.statusDelayMs ?? 1_000),
    );
  }

  private namespaceChanged(namespace: Namespace, old: Namespace | undefined): void {
    const name = namespace.metadata?.name ?? '';
    this.state.namespacesChanged();
    const enforcement = this.options.config.keys.enforcement;
    const gone = this.state.caches.namespaces.get(name) === undefined || isTerminating(namespace);
    if (!gone && namespace.metadata?.labels?.[enforcement] === 'disabled') this.reconcilers.noteEscapeHatch(undefined, name);
    if (gone || namespace.metadata?.labels?.[enforcement] !== old?.metadata?.labels?.[enforcement]) this.add('cluster', STATE_KEY);
    this.add('namespace', name);
    const keys = this.options.config.keys;
    // Baselines leave out namespaces whose profile label is invalid and unapplied. Only a namespace
    // whose profile label names no valid profile (before or after the change) can enter or leave
    // that set; a namespace with a valid profile never touches the cluster key (a cold sync of
    // 10,000 profiled namespaces reconciles it once).
    const labels = namespace.metadata?.labels ?? {};
    const oldLabels = old?.metadata?.labels ?? {};
    const profiles = this.state.catalog().profiles;
    const invalidProfile = (l: Record<string, string>) => l[keys.profile] !== undefined && !profiles.has(l[keys.profile]!);
    const relevantChange = gone || !old || labels[keys.profile] !== oldLabels[keys.profile] || labels[keys.platform] !== oldLabels[keys.platform];
    if ((invalidProfile(labels) || invalidProfile(oldLabels)) && relevantChange) this.add('cluster', CLUSTER_KEY);
    const services = new Set<string>();
    const usedProfiles = new Set<string>();
    for (const labels of [namespace.metadata?.labels ?? {}, old?.metadata?.labels ?? {}]) {
      for (const key of Object.keys(labels)) if (key.startsWith(keys.accessPrefix)) services.add(key.slice(keys.accessPrefix.length));
      if (labels[keys.profile]) usedProfiles.add(labels[keys.profile]!);
    }
    const catalog = this.state.catalog();
    for (const service of services) {
      if (catalog.services.get(service)?.manageIngress || this.servicesWithIngress.has(service)) this.add('sharedservice', service);
      if (this.state.caches.services.get(service)) this.addStatus('SharedService', service);
    }
    for (const profile of usedProfiles) if (this.state.caches.profiles.get(profile)) this.addStatus('NetworkProfile', profile);
    // A namespace coming or going can be the home of a shared service.
    for (const service of catalog.services.values()) {
      if (service.manageIngress && service.target.kind === 'pods' && service.target.namespace === name) this.add('sharedservice', service.name);
    }
  }

  private catalogChanged(kind: CatalogKind, object: KubeObject, old: KubeObject | undefined): void {
    const name = object.metadata?.name ?? '';
    this.add('catalog', `${kind}/${name}`);
    // Our own status and finalizer writes do not change what is rendered (the spec, and so the
    // generation, is the same): no need to revisit every namespace that uses the object.
    // Added and deleted objects come without `old`.
    const specChanged = !old || old.metadata?.generation !== object.metadata?.generation || old.metadata?.generation === undefined;
    if (!specChanged) return;
    this.state.catalogChanged();
    const keys = this.options.config.keys;
    if (kind === 'NetworkBaseline') {
      this.add('cluster', CLUSTER_KEY);
      return;
    }
    // A NetworkProfile turning invalid or valid changes which namespaces the baselines leave out.
    if (kind === 'NetworkProfile') this.add('cluster', CLUSTER_KEY);
    if (kind === 'SharedService') this.add('sharedservice', name);
    for (const namespace of this.state.caches.namespaces.list()) {
      const labels = namespace.metadata?.labels ?? {};
      const uses = kind === 'NetworkProfile' ? labels[keys.profile] === name : labels[`${keys.accessPrefix}${name}`] !== undefined;
      if (uses && !isTerminating(namespace)) this.add('namespace', namespace.metadata?.name ?? '');
    }
  }

  /**
   * A generated object changed. The echo of our own write (it now holds exactly what we applied) needs
   * no reconcile; anything else is checked, in the low lane so that during a cold sync these
   * checks do not queue ahead of live label changes (in steady state the low lane is empty).
   */
  private policyChanged(policy: ObservedPolicy, type: CacheEventType): void {
    const source = this.state.sourceOf(policy);
    if (source?.type === 'access-ingress') this.servicesWithIngress.add(source.source);
    // A profile policy appearing or going in a namespace whose profile label is now invalid decides
    // whether the baselines select that namespace. Checked before the echo test: our own create can
    // reach the cache after the label turned into a typo, when the cluster reconcile has already run
    // without it.
    if (source?.type === 'profile' && (type === 'added' || type === 'deleted') && policy.metadata.namespace) {
      const namespace = this.state.caches.namespaces.get(policy.metadata.namespace);
      const state = namespace ? this.state.intent(namespace).profile.state : 'none';
      if (state === 'invalid' || state === 'unavailable') this.add('cluster', CLUSTER_KEY, 'low');
    }
    if (type !== 'deleted' && this.reconcilers.isEcho(policy)) return;
    if (source?.type === 'access-ingress') this.add('sharedservice', source.source, 'low');
    else if (policy.metadata.namespace) this.add('namespace', policy.metadata.namespace, 'low');
  }

  /** What the scrape-time gauges report, from the caches. */
  snapshot(): ClusterSnapshot {
    const enforcementDisabled = new Map<string, number | undefined>();
    const recorded = readDisabledSince(this.state.caches.state.get(STATE_CONFIGMAP_NAME, this.options.operatorNamespace));
    const namespacesPerProfile = new Map<string, number>();
    const labelErrors: ClusterSnapshot['labelErrors'][number][] = [];
    for (const intent of this.state.liveIntents()) {
      if (intent.enforcementDisabled) enforcementDisabled.set(intent.namespace, recorded.get(intent.namespace));
      const { shown, more } = reportedProblems(intent.problems);
      for (const problem of shown) labelErrors.push({ namespace: intent.namespace, label: problem.label, reason: problem.reason, value: 1 });
      if (more > 0) labelErrors.push({ namespace: intent.namespace, label: MORE_LABEL_PROBLEMS, reason: MORE_LABEL_PROBLEMS, value: more });
      if (intent.protected) continue;
      const profile = intent.profile.state === 'valid' || intent.profile.state === 'unavailable' ? intent.profile.name : 'none';
      if (intent.profile.state !== 'invalid') namespacesPerProfile.set(profile, (namespacesPerProfile.get(profile) ?? 0) + 1);
    }
    const managedPolicies = new Map([
      ['CiliumNetworkPolicy', this.state.caches.policies.list().length],
      ['CiliumClusterwideNetworkPolicy', this.state.caches.clusterPolicies.list().length],
    ]);
    return {
      enforcementDisabled,
      namespacesPerProfile,
      labelErrors,
      managedPolicies,
      catalogInvalid: this.state.invalidCatalogObjects(),
      // Only the leader reconciles and so knows; a standby that took over learns at its first pass.
      nameConflicts: this.isLeader() ? this.reconcilers.nameConflicts() : [],
    };
  }

  /** Sizes of what the operator remembers beyond its caches; each is bounded (tests and the soak benchmark check). */
  memory(): Record<string, number> {
    return {
      ...this.reconcilers.memory(),
      intents: this.state.intentCount,
      servicesWithIngress: this.servicesWithIngress.size,
      internedSpecs: this.interner.size,
      internedBytes: this.interner.bytes,
    };
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  async waitForIdle(): Promise<void> {
    for (;;) {
      const queues = this.queues;
      if (!queues) return;
      await Promise.all(Object.values(queues).map((queue) => queue.waitForIdle()));
      if (this.pendingStatus.size === 0 && Object.values(queues).every((queue) => queue.len() === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /**
   * SIGTERM: stop taking work, give in-flight writes `drainTimeoutMs` to finish (then abort them),
   * release the lease (given `releaseTimeoutMs`; unanswered, it expires on its own), stop the caches.
   */
  async stop(drainTimeoutMs = 5_000, releaseTimeoutMs = 2_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.resyncTimer);
    for (const timer of this.pendingStatus.values()) clearTimeout(timer);
    this.pendingStatus.clear();
    const queues = this.queues;
    this.queues = undefined;
    if (queues) await Promise.all(Object.values(queues).map((queue) => queue.shutDown({ drainTimeoutMs })));
    await this.elector?.stop(releaseTimeoutMs);
    this.leading = false;
    this.term?.abort(new Error('stopped'));
    await Promise.all(this.caches.map((informer) => informer.stop()));
  }
}
