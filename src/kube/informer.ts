// A list-watch cache of one resource that does not give up: paged lists, watches resumed from the
// last resourceVersion, relist on 410 Gone, on silence (stall) and periodically, backoff with full
// jitter on any other failure, and every relist diffed against the cache so missed changes heal.

import { isGone, type KubeApi, type WatchEventType } from './api.js';
import type { ResourceRef } from './resources.js';
import type { KubeObject } from './types.js';

export type CacheEventType = 'added' | 'updated' | 'deleted';

export interface CacheEvent<T> {
  type: CacheEventType;
  /** The object now; for `deleted`, its last known state. */
  object: T;
  /** For `updated`: the cached object it replaced. */
  old?: T;
}

/** Why the watch was restarted; the label of `netpol_profiles_watch_restarts_total{reason}`. */
export type RestartReason = 'closed' | 'gone' | 'stall' | 'error';

/** What the cache logs through; a winston logger fits. */
export interface CacheLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
}

export interface BackoffOptions {
  /** First retry waits up to this long (full jitter: a random delay between 0 and the bound). */
  baseMs: number;
  /** The bound doubles per consecutive failure up to this. */
  capMs: number;
}

export interface ListWatchCacheOptions<T extends KubeObject> {
  api: KubeApi;
  resource: ResourceRef;
  labelSelector?: string;
  /** e.g. `metadata.name=x`: lets RBAC restrict list and watch to that name (`resourceNames`). */
  fieldSelector?: string;
  /** Only this namespace (namespaced resources); default all. */
  namespace?: string;
  /** Objects per list page. Default 500. */
  pageSize?: number;
  /** Relist when the watch delivers nothing, not even a bookmark, for this long. Default 2 min (the API server sends a bookmark a minute). */
  stallTimeoutMs?: number;
  /** Server-side watch timeout is randomised in [this, 2 × this) seconds, as client-go does. Default 300. */
  watchTimeoutSeconds?: number;
  /** Delay before retrying after an error. Default 200 ms doubling to 30 s. */
  backoff?: Partial<BackoffOptions>;
  /** Applied to every object before it is stored (e.g. drop managedFields, share specs); must not mutate its input. */
  transform?: (object: T) => T;
  onChange?: (event: CacheEvent<T>) => void;
  onRestart?: (reason: RestartReason) => void;
  logger?: CacheLogger;
}

/** A watch that ends this soon without delivering anything counts as a failure (no hot loop). */
const MIN_HEALTHY_WATCH_MS = 1000;

const CLUSTER_SCOPE = '';

/** Objects by namespace, then name; cluster-scoped objects live under ''. */
class ObjectIndex<T extends KubeObject> {
  private readonly byNamespace = new Map<string, Map<string, T>>();
  size = 0;

  constructor(private readonly namespaced: boolean) {}

  private scope(namespace: string | undefined): string {
    return this.namespaced ? (namespace ?? CLUSTER_SCOPE) : CLUSTER_SCOPE;
  }

  get(name: string, namespace: string | undefined): T | undefined {
    return this.byNamespace.get(this.scope(namespace))?.get(name);
  }

  /** Stores `object`; returns what it replaced. */
  set(object: T): T | undefined {
    const scope = this.scope(object.metadata?.namespace);
    let names = this.byNamespace.get(scope);
    if (!names) {
      names = new Map();
      this.byNamespace.set(scope, names);
    }
    const name = object.metadata!.name!;
    const previous = names.get(name);
    names.set(name, object);
    if (!previous) this.size++;
    return previous;
  }

  delete(name: string, namespace: string | undefined): T | undefined {
    const scope = this.scope(namespace);
    const names = this.byNamespace.get(scope);
    const previous = names?.get(name);
    if (!names || !previous) return undefined;
    names.delete(name);
    if (names.size === 0) this.byNamespace.delete(scope);
    this.size--;
    return previous;
  }

  inNamespace(namespace: string): T[] {
    return [...(this.byNamespace.get(this.scope(namespace))?.values() ?? [])];
  }

  *values(): IterableIterator<T> {
    for (const names of this.byNamespace.values()) yield* names.values();
  }
}

const resourceVersionOf = (object: KubeObject): string | undefined => object.metadata?.resourceVersion;
const hasName = (object: KubeObject): boolean => typeof object.metadata?.name === 'string' && object.metadata.name !== '';

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class ListWatchCache<T extends KubeObject> {
  readonly resource: ResourceRef;
  private readonly api: KubeApi;
  private readonly pageSize: number;
  private readonly stallTimeoutMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly backoff: BackoffOptions;

  private index: ObjectIndex<T>;
  private resourceVersion: string | undefined;
  private synced = false;
  private syncWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  private running: Promise<void> | undefined;
  private readonly stopping = new AbortController();
  /** Aborts the watch in progress; set while one is open. */
  private currentWatch: AbortController | undefined;
  /** Why the cache itself ended the current watch. */
  private watchEndedBy: 'stall' | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private consecutiveFailures = 0;

  constructor(private readonly options: ListWatchCacheOptions<T>) {
    this.api = options.api;
    this.resource = options.resource;
    this.pageSize = options.pageSize ?? 500;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 2 * 60_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.backoff = { baseMs: options.backoff?.baseMs ?? 200, capMs: options.backoff?.capMs ?? 30_000 };
    this.index = new ObjectIndex(this.resource.namespaced);
  }

  /** Starts listing and watching in the background; failures are retried, never thrown. */
  start(): void {
    if (this.stopping.signal.aborted) throw new Error(`${this.resource.plural} cache: start() after stop()`);
    this.running ??= this.run();
  }

  /** Ends the watch, cancels timers and pending requests; resolves once nothing is left running. */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.currentWatch?.abort();
    this.clearTimers();
    for (const waiter of this.syncWaiters) waiter.reject(new Error(`${this.resource.plural} cache stopped before its first sync`));
    this.syncWaiters = [];
    await this.running;
  }

  /** True once the first complete list is in the cache; stays true through later relists. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves at the first sync; rejects if `signal` aborts or the cache stops first. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    if (this.stopping.signal.aborted) return Promise.reject(new Error(`${this.resource.plural} cache stopped before its first sync`));
    if (signal?.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: Error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== waiter);
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(waiter);
    });
  }

  /** The cached object; `namespace` defaults to the one the cache is limited to, if any. */
  get(name: string, namespace: string | undefined = this.options.namespace): T | undefined {
    return this.index.get(name, namespace);
  }

  list(): T[] {
    return [...this.index.values()];
  }

  listByNamespace(namespace: string): T[] {
    return this.index.inNamespace(namespace);
  }

  get size(): number {
    return this.index.size;
  }

  /** The resourceVersion the cache is current to (last list, event or bookmark). */
  get lastSyncResourceVersion(): string | undefined {
    return this.resourceVersion;
  }

  // -------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const stopped = this.stopping.signal;
    let needList = true;
    while (!stopped.aborted) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
        } catch (error) {
          if (stopped.aborted) break;
          // A list whose continue token expired starts over from the first page.
          const reason = isGone(error) ? 'gone' : 'error';
          this.restarted(reason, error);
          await this.pauseBeforeRetry(reason, false);
          continue;
        }
      }
      const ended = await this.watchOnce();
      if (stopped.aborted) break;
      this.restarted(ended.reason, ended.error);
      needList = ended.reason === 'gone' || ended.reason === 'stall';
      await this.pauseBeforeRetry(ended.reason, ended.healthy);
    }
    this.clearTimers();
  }

  /**
   * Only a watch that delivered something (or lasted a while) proves the connection healthy and
   * resets the backoff; so a server that fails every list, or every watch at once, is retried at
   * a growing interval. A stall is already rate-limited by its timer, and one 410
   * is answered at once (relist), a second in a row with backoff.
   */
  private async pauseBeforeRetry(reason: RestartReason, healthy: boolean): Promise<void> {
    if (healthy) {
      this.consecutiveFailures = 0;
      return;
    }
    if (reason === 'stall') return;
    if (reason === 'gone' && this.consecutiveFailures === 0) {
      this.consecutiveFailures++;
      return;
    }
    await pause(this.nextBackoff(), this.stopping.signal);
  }

  /** Lists every page into a fresh index, then swaps it in and emits the differences. */
  private async relist(): Promise<void> {
    const next = new ObjectIndex<T>(this.resource.namespaced);
    let continueToken: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.api.list<T>(this.resource, {
        ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
        ...(this.options.labelSelector !== undefined ? { labelSelector: this.options.labelSelector } : {}),
        ...(this.options.fieldSelector !== undefined ? { fieldSelector: this.options.fieldSelector } : {}),
        limit: this.pageSize,
        ...(continueToken !== undefined ? { continue: continueToken } : {}),
        signal: this.stopping.signal,
      });
      for (const object of page.items) if (hasName(object)) next.set(this.options.transform ? this.options.transform(object) : object);
      // Every page of one list is served at the first page's resourceVersion.
      if (resourceVersion === '') resourceVersion = page.resourceVersion;
      continueToken = page.continue;
    } while (continueToken !== undefined && !this.stopping.signal.aborted);
    if (this.stopping.signal.aborted) return;
    this.replace(next, resourceVersion);
  }

  private replace(next: ObjectIndex<T>, resourceVersion: string): void {
    const previous = this.index;
    this.index = next;
    this.resourceVersion = resourceVersion;
    const events: CacheEvent<T>[] = [];
    for (const object of next.values()) {
      const old = previous.get(object.metadata!.name!, object.metadata?.namespace);
      if (!old) events.push({ type: 'added', object });
      else if (resourceVersionOf(old) !== resourceVersionOf(object)) events.push({ type: 'updated', object, old });
    }
    for (const old of previous.values()) {
      if (!next.get(old.metadata!.name!, old.metadata?.namespace)) events.push({ type: 'deleted', object: old });
    }
    this.options.logger?.debug('cache listed', { resource: this.resource.plural, objects: next.size, changes: events.length, resourceVersion });
    if (!this.synced) {
      this.synced = true;
      for (const waiter of this.syncWaiters) waiter.resolve();
      this.syncWaiters = [];
    }
    for (const event of events) this.emit(event);
  }

  /** One watch from the cache's resourceVersion; says why it ended. Never throws. */
  private async watchOnce(): Promise<{ reason: RestartReason; healthy: boolean; error?: unknown }> {
    // stop() aborts `currentWatch`; a stop that came before it exists must be seen here.
    if (this.stopping.signal.aborted) return { reason: 'closed', healthy: true };
    const controller = new AbortController();
    this.currentWatch = controller;
    this.watchEndedBy = undefined;
    const startedAt = Date.now();
    let delivered = false;
    const healthy = () => delivered || Date.now() - startedAt >= MIN_HEALTHY_WATCH_MS;
    this.armStallTimer();
    try {
      await this.api.watch<T>(
        this.resource,
        {
          ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
          ...(this.options.labelSelector !== undefined ? { labelSelector: this.options.labelSelector } : {}),
          ...(this.options.fieldSelector !== undefined ? { fieldSelector: this.options.fieldSelector } : {}),
          resourceVersion: this.resourceVersion ?? '',
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(this.watchTimeoutSeconds * (1 + Math.random())),
        },
        {
          onEvent: (type, object) => {
            delivered = true;
            this.armStallTimer();
            this.store(type, object);
          },
        },
        controller.signal,
      );
      return { reason: this.watchEndedBy ?? 'closed', healthy: healthy() };
    } catch (error) {
      return isGone(error) ? { reason: 'gone', healthy: healthy(), error } : { reason: 'error', healthy: false, error };
    } finally {
      clearTimeout(this.stallTimer);
      this.stallTimer = undefined;
      this.currentWatch = undefined;
    }
  }

  /** One watch event into the index (and to `onChange` when it changed anything). */
  private store(type: WatchEventType, object: T): void {
    const resourceVersion = resourceVersionOf(object);
    if (resourceVersion) this.resourceVersion = resourceVersion;
    if (type === 'BOOKMARK' || !hasName(object)) return;
    const { name, namespace } = object.metadata as { name: string; namespace?: string };
    if (type === 'DELETED') {
      if (this.index.delete(name, namespace)) this.emit({ type: 'deleted', object });
      return;
    }
    const stored = this.options.transform ? this.options.transform(object) : object;
    const old = this.index.set(stored);
    if (!old) this.emit({ type: 'added', object: stored });
    else if (resourceVersionOf(old) !== resourceVersion) this.emit({ type: 'updated', object: stored, old });
  }

  private emit(event: CacheEvent<T>): void {
    try {
      this.options.onChange?.(event);
    } catch (error) {
      this.options.logger?.warn('cache change handler failed', { resource: this.resource.plural, error: String(error) });
    }
  }

  private restarted(reason: RestartReason, error?: unknown): void {
    const meta: Record<string, unknown> = { resource: this.resource.plural, reason, resourceVersion: this.resourceVersion };
    if (error !== undefined) meta.error = error instanceof Error ? error.message : String(error);
    if (reason === 'closed') this.options.logger?.debug('watch restarted', meta);
    else this.options.logger?.warn('watch restarted', meta);
    try {
      this.options.onRestart?.(reason);
    } catch (hookError) {
      this.options.logger?.warn('cache restart hook failed', { resource: this.resource.plural, error: String(hookError) });
    }
  }

  /** Full jitter: a random delay below an exponentially growing, capped bound. */
  private nextBackoff(): number {
    const bound = Math.min(this.backoff.capMs, this.backoff.baseMs * 2 ** Math.min(this.consecutiveFailures, 30));
    this.consecutiveFailures++;
    return Math.random() * bound;
  }

  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.endWatch('stall'), this.stallTimeoutMs);
  }

  private endWatch(why: 'stall'): void {
    if (!this.currentWatch) return;
    this.watchEndedBy ??= why;
    this.currentWatch.abort();
  }

  private clearTimers(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}
