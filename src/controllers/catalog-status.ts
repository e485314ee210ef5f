// The catalog-status controller: status (`namespaceCount`, `namespaces`, the `Ready` condition)
// and the in-use finalizer of one NetworkProfile, SharedService or NetworkBaseline (key:
// `Kind/name`). Its writes are coalesced: the counts change with every namespace during a sync.

import type { RenderConfig } from '../config.js';
import { CATALOG_API_VERSION, type CatalogKind } from '../catalog/types.js';
import type { KubeApi } from '../kube/api.js';
import { isConflict, isNotFound } from '../kube/api.js';
import type { EventRecorder } from '../kube/events.js';
import { RESOURCES, type ResourceRef } from '../kube/resources.js';
import { scopedApi } from '../kube/scoped-api.js';
import { formatTime } from '../kube/time.js';
import type { KubeObject } from '../kube/types.js';
import { catalogObjectsNamed, catalogObjectsUsed, type NamespaceIntent } from '../labels.js';
import type { Logger } from '../observability/logger.js';
import type { ClusterView } from '../reconcile/cluster-view.js';
import type { ReconcileResult } from '../reconcile/workqueue.js';
import { canonicalize, jsonEqual } from '../render/canonical.js';
import type { Controller, Watches } from './controller.js';

const STATUS_NAMESPACE_LIMIT = 100;

export const CATALOG_RESOURCES: Record<CatalogKind, ResourceRef> = {
  NetworkProfile: RESOURCES.networkProfiles,
  SharedService: RESOURCES.sharedServices,
  NetworkBaseline: RESOURCES.networkBaselines,
};

/** Namespaces that use a catalog object, sorted (baselines are never named by a namespace). */
export function usersOf(intents: readonly NamespaceIntent[], kind: CatalogKind, name: string): string[] {
  if (kind === 'NetworkBaseline') return [];
  const uses = (intent: NamespaceIntent) => {
    const used = catalogObjectsUsed(intent);
    return kind === 'NetworkProfile' ? used.profile === name : used.services.includes(name);
  };
  return intents
    .filter(uses)
    .map((intent) => intent.namespace)
    .sort();
}

export interface CatalogStatusControllerOptions {
  /** Writes pass the leader's fence (see `Operator`). */
  api: KubeApi;
  view: ClusterView;
  config: RenderConfig;
  events: EventRecorder;
  logger: Logger;
  dryRun: boolean;
  concurrency: number;
  /** Status writes of one object: at most one per this many ms. */
  coalesceMs: number;
}

export class CatalogStatusController implements Controller {
  readonly name = 'catalog';
  readonly concurrency: number;

  constructor(private readonly options: CatalogStatusControllerOptions) {
    this.concurrency = options.concurrency;
  }

  readonly watches: Watches = {
    profiles: (event, add) => add(`NetworkProfile/${event.object.metadata?.name}`),
    services: (event, add) => add(`SharedService/${event.object.metadata?.name}`),
    baselines: (event, add) => add(`NetworkBaseline/${event.object.metadata?.name}`),
    // A label change can change the users of the profiles and services named before and after it.
    namespaces: (event, add) => {
      const { view, config } = this.options;
      for (const labels of [event.object.metadata?.labels, event.old?.metadata?.labels]) {
        const named = catalogObjectsNamed(labels ?? {}, config.keys);
        const coalesceMs = this.options.coalesceMs;
        if (named.profile !== undefined && view.caches.profiles.get(named.profile)) add(`NetworkProfile/${named.profile}`, { coalesceMs });
        for (const service of named.services) if (view.caches.services.get(service)) add(`SharedService/${service}`, { coalesceMs });
      }
    },
  };

  keys(): Iterable<string> {
    const { caches } = this.options.view;
    const keys: string[] = [];
    for (const [kind, cache] of [
      ['NetworkProfile', caches.profiles],
      ['SharedService', caches.services],
      ['NetworkBaseline', caches.baselines],
    ] as const) {
      for (const object of cache.list()) keys.push(`${kind}/${object.metadata?.name}`);
    }
    return keys;
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [kind, name] = key.split('/') as [CatalogKind, string];
    const { view, config, events, logger, dryRun } = this.options;
    const api = scopedApi(this.options.api, { signal });
    const cache = { NetworkProfile: view.caches.profiles, SharedService: view.caches.services, NetworkBaseline: view.caches.baselines }[kind];
    const object = cache.get(name);
    if (!object) return {};
    const resource = CATALOG_RESOURCES[kind];
    const users = usersOf(view.liveIntents(), kind, name);
    const finalizer = config.keys.inUseFinalizer;
    const finalizers = object.metadata?.finalizers ?? [];
    const deleting = object.metadata?.deletionTimestamp !== undefined;
    const target = { apiVersion: CATALOG_API_VERSION, kind, name, uid: object.metadata?.uid };

    // The finalizer first: it is what protects namespaces from losing their policies. Baselines are
    // never referred to by a namespace, so they never carry it; the operator may not patch them
    // (least privilege), and leaves a finalizer someone copied onto one alone.
    const wantFinalizer = users.length > 0;
    if (kind !== 'NetworkBaseline' && wantFinalizer !== finalizers.includes(finalizer)) {
      if (dryRun) {
        logger.info(`dry-run: would ${wantFinalizer ? 'add' : 'remove'} finalizer`, { kind, name });
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
      const shown = `${users.slice(0, 20).join(', ')}${users.length > 20 ? ', …' : ''}`;
      await events.record(target, 'Warning', 'InUse', `deletion waits until no namespace uses it; still used by ${users.length}: ${shown}`, signal);
    }
    await this.updateStatus(api, object, resource, kind, name, users, signal);
    return {};
  }

  private async updateStatus(
    api: KubeApi,
    object: KubeObject,
    resource: ResourceRef,
    kind: CatalogKind,
    name: string,
    users: string[],
    signal: AbortSignal,
  ): Promise<void> {
    const problems = this.options.view.catalogProblems(`${kind}/${name}`);
    const current = (object.status ?? {}) as { conditions?: Array<Record<string, unknown>>; [key: string]: unknown };
    const ready = problems.length === 0;
    const previous = current.conditions?.find((c) => c.type === 'Ready');
    const message = ready ? (kind === 'NetworkBaseline' ? 'rendered as baseline-' + name : `used by ${users.length} namespace(s)`) : problems.join('; ');
    const generation = object.metadata?.generation;
    const condition = {
      type: 'Ready',
      status: ready ? 'True' : 'False',
      reason: ready ? 'Valid' : 'Invalid',
      message: message.slice(0, 32768),
      observedGeneration: generation,
      lastTransitionTime: previous && previous.status === (ready ? 'True' : 'False') ? previous.lastTransitionTime : formatTime(new Date()),
    };
    const status: Record<string, unknown> =
      kind === 'NetworkBaseline'
        ? { observedGeneration: generation, conditions: [condition] }
        : { observedGeneration: generation, namespaceCount: users.length, namespaces: users.slice(0, STATUS_NAMESPACE_LIMIT), conditions: [condition] };
    if (sameStatus(current, status) || this.options.dryRun) return;
    try {
      await api.updateStatus(resource, { ...object, status });
    } catch (error) {
      // A newer version is on its way through the watch; the next pass writes from it.
      if (!isConflict(error) && !isNotFound(error)) throw error;
    }
    if (!ready && (!previous || previous.status !== 'False' || previous.message !== condition.message)) {
      await this.options.events.record({ apiVersion: CATALOG_API_VERSION, kind, name, uid: object.metadata?.uid }, 'Warning', 'Invalid', message, signal);
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
