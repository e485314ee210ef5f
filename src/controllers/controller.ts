// What every controller is, kubebuilder's shape: a name, how many keys it reconciles at once, the
// cache events it watches (each mapped, next to the reconcile that consumes them, to the keys it
// must look at again) and the reconcile itself. The operator only wires caches, queues and these.

import type { CacheEventType } from '../kube/informer.js';
import type { KubeObject, Namespace, ObservedPolicy } from '../kube/types.js';
import type { ConfigMap } from '../reconcile/escape-hatch.js';
import type { ControllerName } from '../observability/metrics.js';
import type { AddPriority, ReconcileResult } from '../reconcile/workqueue.js';

export interface CacheEvent<T> {
  type: CacheEventType;
  object: T;
  /** The previous version (updates only). */
  old: T | undefined;
}

export interface AddOptions {
  /** `low`: after live changes (start-up backlog, resyncs, checks of our own objects). */
  priority?: AddPriority;
  /** Run at most once per this many ms, however often it is added (status writes that follow every namespace). */
  coalesceMs?: number;
}

/** Queues a key of the controller (a no-op on a replica that is not leading). */
export type Enqueue = (key: string, options?: AddOptions) => void;

/**
 * Handlers of cache events, one per cache the controller watches. Every replica runs them (standbys
 * keep what they must remember, ready to lead); the keys they add are only queued on the leader.
 */
export interface Watches {
  namespaces?(event: CacheEvent<Namespace>, add: Enqueue): void;
  profiles?(event: CacheEvent<KubeObject>, add: Enqueue): void;
  services?(event: CacheEvent<KubeObject>, add: Enqueue): void;
  baselines?(event: CacheEvent<KubeObject>, add: Enqueue): void;
  policies?(event: CacheEvent<ObservedPolicy>, add: Enqueue): void;
  clusterPolicies?(event: CacheEvent<ObservedPolicy>, add: Enqueue): void;
  escapeHatchRecord?(event: CacheEvent<ConfigMap>, add: Enqueue): void;
}

export interface Controller {
  /** The `controller` label of the reconcile and work-queue metrics (whose series start at 0), and of log lines. */
  readonly name: ControllerName;
  /** Keys reconciled at once. */
  readonly concurrency: number;
  readonly watches: Watches;
  /** Every key there is, orphans included: queued when leadership starts and at every resync. */
  keys(): Iterable<string>;
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult>;
  /** Called once the caches have synced, before any event reaches `watches` and before leading. */
  cachesSynced?(): void;
  /** Sizes of what the controller remembers between reconciles (bounded; tests and the soak benchmark check). */
  memory?(): Record<string, number>;
}

/** Generation changes with the spec only: our own status and finalizer writes leave it alone. */
export function specChanged(event: CacheEvent<KubeObject>): boolean {
  const { object, old } = event;
  // Added and deleted objects come without `old`.
  return !old || old.metadata?.generation !== object.metadata?.generation || old.metadata?.generation === undefined;
}
