// The operator wires list-watch caches, the controllers (src/controllers/) and one keyed work queue
// per controller. Every replica keeps warm caches and serves metrics; only the leader runs the
// queues (and so writes). Cache events are only mapped to keys; nothing is reconciled, and so
// nothing pruned, before every cache has finished its first list.

import type { RenderConfig } from './config.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './config.js';
import { CatalogStatusController } from './controllers/catalog-status.js';
import { ClusterObjectsController } from './controllers/cluster-objects.js';
import { specChanged, type CacheEvent, type Controller, type Enqueue, type Watches } from './controllers/controller.js';
import { EscapeHatchRecordController } from './controllers/escape-hatch-record.js';
import { NamespaceController } from './controllers/namespace.js';
import { PolicyWriter } from './controllers/policy-writer.js';
import { SharedServiceController } from './controllers/shared-service.js';
import type { KubeApi } from './kube/api.js';
import { compactPolicy, SpecInterner, withoutManagedFields } from './kube/compact.js';
import { EventRecorder } from './kube/events.js';
import { ListWatchCache } from './kube/informer.js';
import { LEASE_MODE_ANNOTATION, LeaderElector, NotLeaderError, type LeaderElectionOptions } from './kube/leader.js';
import { RESOURCES, type ResourceRef } from './kube/resources.js';
import { scopedApi } from './kube/scoped-api.js';
import type { KubeObject, Namespace, ObservedPolicy } from './kube/types.js';
import { reportedProblems } from './labels.js';
import { errorMessage, type Logger } from './observability/logger.js';
import { MORE_LABEL_PROBLEMS, type GaugeSnapshot, type OperatorMetrics } from './observability/metrics.js';
import { ClusterView, type ObjectCache, type ViewCaches } from './reconcile/cluster-view.js';
import { readDisabledSince, RECORD_CONFIGMAP_NAME, type ConfigMap } from './reconcile/escape-hatch.js';
import { WorkQueue } from './reconcile/workqueue.js';

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

type Source = keyof Watches;

export class Operator {
  readonly view: ClusterView;
  private readonly caches: Array<ListWatchCache<KubeObject>> = [];
  private readonly controllers: Controller[];
  private readonly writer: PolicyWriter;
  private readonly events: EventRecorder;
  /** The leader's queues, one per controller. */
  private queues: Map<string, WorkQueue> | undefined;
  private readonly elector: LeaderElector | undefined;
  private readonly interner = new SpecInterner();
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
      source: Source,
      resource: ResourceRef,
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
        transform: isPolicy ? (object) => compactPolicy(object, this.view?.sourceOf(object)?.type === 'access-ingress' ? undefined : interner) : withoutManagedFields,
        pageSize: options.cache?.pageSize,
        stallTimeoutMs: options.cache?.stallTimeoutMs,
        backoff: { baseMs: options.cache?.backoffBaseMs ?? 200, capMs: options.cache?.backoffCapMs ?? 30_000 },
        // Nothing is mapped to keys before every cache has synced (see `start`).
        onChange: (event) => {
          if (this.view?.hasSynced()) this.dispatch(source, { type: event.type, object: event.object, old: event.old });
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
    const caches: ViewCaches = {
      namespaces: cache<Namespace>('namespaces', RESOURCES.namespaces),
      profiles: cache('profiles', RESOURCES.networkProfiles),
      services: cache('services', RESOURCES.sharedServices),
      baselines: cache('baselines', RESOURCES.networkBaselines),
      policies: cache<ObservedPolicy>('policies', RESOURCES.ciliumNetworkPolicies, managed),
      clusterPolicies: cache<ObservedPolicy>('clusterPolicies', RESOURCES.ciliumClusterwideNetworkPolicies, managed),
      // By name, not label: RBAC then limits list and watch to this one ConfigMap, and a copy that
      // lost its label (restored from a backup) is still seen and updated rather than re-created.
      escapeHatchRecord: cache<ConfigMap>(
        'escapeHatchRecord',
        RESOURCES.configMaps,
        { fieldSelector: `metadata.name=${RECORD_CONFIGMAP_NAME}` },
        options.operatorNamespace,
      ),
    };
    this.view = new ClusterView(caches, config);
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
    // Every write of the controllers and of Events passes this fence right before it is sent: with
    // leader election, only within the renew deadline of the last renewal (fencing by time).
    const elector = this.elector;
    const writeApi = scopedApi(api, {
      fence: elector
        ? () => elector.checkCanWrite()
        : () => {
            if (!this.leading) throw new NotLeaderError('the operator is not running its controllers; write not sent');
          },
    });
    this.events = new EventRecorder(
      writeApi,
      options.leaderElection.identity,
      (error) => logger.warn('event not recorded', { error: errorMessage(error) }),
      options.dryRun ? { onDryRun: (event) => logger.info('dry-run: would record event', event) } : undefined,
    );
    const { dryRun, operatorNamespace } = options;
    const view = this.view;
    const events = this.events;
    this.writer = new PolicyWriter({ api: writeApi, config, events, logger, dryRun, onDriftCorrected: (kind) => metrics.driftCorrections.inc({ kind }) });
    const writer = this.writer;
    const fewer = Math.min(2, options.concurrency);
    this.controllers = [
      new NamespaceController({ view, config, writer, events, concurrency: options.concurrency }),
      new SharedServiceController({ view, config, writer, concurrency: fewer }),
      new ClusterObjectsController({ view, config, writer }),
      new EscapeHatchRecordController({
        api: writeApi,
        view,
        operatorNamespace,
        events,
        logger,
        dryRun,
        onRecordRefused: (reason) => metrics.escapeHatchRecordRefused.inc({ reason }),
      }),
      new CatalogStatusController({ api: writeApi, view, config, events, logger, dryRun, concurrency: fewer, coalesceMs: options.statusDelayMs ?? 1_000 }),
    ];
    metrics.setSnapshotSource(() => (this.view.hasSynced() ? this.snapshot() : undefined));
    metrics.setLeaderSource(() => this.isLeader());
  }

  /** A cache changed: the view forgets what it derived, then every controller watching it maps the event to its keys. */
  private dispatch(source: Source, event: CacheEvent<KubeObject>): void {
    if (source === 'namespaces') this.view.namespacesChanged();
    if ((source === 'profiles' || source === 'services' || source === 'baselines') && specChanged(event)) this.view.catalogChanged();
    for (const controller of this.controllers) {
      const watch = controller.watches[source] as ((event: CacheEvent<KubeObject>, add: Enqueue) => void) | undefined;
      watch?.(event, (key, options) => this.queues?.get(controller.name)?.add(key, options));
    }
  }

  /** Starts the caches and the campaign for leadership; resolves once the caches have synced. */
  async start(signal?: AbortSignal): Promise<void> {
    for (const informer of this.caches) informer.start();
    await Promise.all(this.caches.map((informer) => informer.waitForSync(signal)));
    this.options.logger.info('caches synced', { namespaces: this.view.caches.namespaces.list().length });
    for (const controller of this.controllers) controller.cachesSynced?.();
    if (this.elector) this.elector.start();
    else this.startLeading();
  }

  isReady(): boolean {
    return this.view.hasSynced();
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
    this.queues = new Map(
      this.controllers.map((controller) => [
        controller.name,
        new WorkQueue({
          controller: controller.name,
          concurrency: controller.concurrency,
          reconcile: (key, signal) => controller.reconcile(key, signal),
          signal: term.signal,
          metrics: this.options.metrics,
          onError: (key, error, retryInMs) => {
            if (!term.signal.aborted) this.options.logger.warn('reconcile failed', { controller: controller.name, key, error: errorMessage(error), retryInMs });
          },
        }),
      ]),
    );
    this.enqueueEverything();
    this.scheduleResync();
  }

  /** Periodic resync: every key again, in the low lane, so live changes go first. */
  private scheduleResync(): void {
    const every = this.options.resyncPeriodMs ?? 0;
    if (every <= 0) return;
    this.resyncTimer = setTimeout(() => {
      if (!this.queues) return;
      this.options.logger.debug('resync');
      this.enqueueEverything();
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
    if (queues) void Promise.all([...queues.values()].map((queue) => queue.shutDown({ drainTimeoutMs: 0 })));
    this.options.onLostLeadership?.(reason);
  }

  /** Every key of every controller, orphans included, in the low lane (live changes go first). */
  private enqueueEverything(): void {
    for (const controller of this.controllers) {
      const queue = this.queues?.get(controller.name);
      for (const key of controller.keys()) queue?.add(key, { priority: 'low' });
    }
  }

  /** What the scrape-time gauges report, from the caches. */
  snapshot(): GaugeSnapshot {
    const enforcementDisabled = new Map<string, number | undefined>();
    const recorded = readDisabledSince(this.view.caches.escapeHatchRecord.get(RECORD_CONFIGMAP_NAME, this.options.operatorNamespace));
    const namespacesPerProfile = new Map<string, number>();
    const labelErrors: GaugeSnapshot['labelErrors'][number][] = [];
    for (const intent of this.view.liveIntents()) {
      if (intent.enforcementDisabled) enforcementDisabled.set(intent.namespace, recorded.get(intent.namespace));
      const { shown, more } = reportedProblems(intent.problems);
      for (const problem of shown) labelErrors.push({ namespace: intent.namespace, label: problem.label, reason: problem.reason, value: 1 });
      if (more > 0) labelErrors.push({ namespace: intent.namespace, label: MORE_LABEL_PROBLEMS, reason: MORE_LABEL_PROBLEMS, value: more });
      if (intent.protected) continue;
      const profile = intent.profile.state === 'valid' || intent.profile.state === 'unavailable' ? intent.profile.name : 'none';
      if (intent.profile.state !== 'invalid') namespacesPerProfile.set(profile, (namespacesPerProfile.get(profile) ?? 0) + 1);
    }
    const managedPolicies = new Map([
      ['CiliumNetworkPolicy', this.view.caches.policies.list().length],
      ['CiliumClusterwideNetworkPolicy', this.view.caches.clusterPolicies.list().length],
    ]);
    return {
      enforcementDisabled,
      namespacesPerProfile,
      labelErrors,
      managedPolicies,
      catalogInvalid: this.view.invalidCatalogObjects(),
      // Only the leader reconciles and so knows; a standby that took over learns at its first pass.
      nameConflicts: this.isLeader() ? this.writer.nameConflicts() : [],
    };
  }

  /** Sizes of what the operator remembers beyond its caches; each is bounded (tests and the soak benchmark check). */
  memory(): Record<string, number> {
    return {
      ...Object.assign({}, ...this.controllers.map((controller) => controller.memory?.() ?? {})),
      ...this.writer.memory(),
      events: this.events.size,
      intents: this.view.intentCount,
      internedSpecs: this.interner.size,
      internedBytes: this.interner.bytes,
    };
  }

  /** Resolves when no reconcile is queued, coalescing or running (tests and benchmarks). */
  async waitForIdle(): Promise<void> {
    // A reconcile of one controller can add keys of another (through the caches): until all are idle at once.
    for (let queues = this.queues; queues && ![...queues.values()].every((queue) => queue.isIdle()); queues = this.queues) {
      await Promise.all([...queues.values()].map((queue) => queue.waitForIdle()));
    }
  }

  /**
   * SIGTERM: stop taking work, give in-flight writes `drainTimeoutMs` to finish (then abort them),
   * release the lease (given `releaseTimeoutMs`; unanswered, it expires on its own), stop the caches.
   */
  async stop(drainTimeoutMs = 5_000, releaseTimeoutMs = 2_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.resyncTimer);
    const queues = this.queues;
    this.queues = undefined;
    if (queues) await Promise.all([...queues.values()].map((queue) => queue.shutDown({ drainTimeoutMs })));
    await this.elector?.stop(releaseTimeoutMs);
    this.leading = false;
    this.term?.abort(new Error('stopped'));
    await Promise.all(this.caches.map((informer) => informer.stop()));
  }
}
