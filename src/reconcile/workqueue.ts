// Keyed work queue that drives a reconciler (client-go / controller-runtime semantics). p-queue runs
// the workers: bounded concurrency, and priority (live changes before the start-up backlog and
// resyncs). On top, the keyed layer is ours: one entry per key, never two reconciles of one key at
// once (a key added while it runs runs once more afterwards), per-key backoff counted once per retry
// interval, Retry-After, delayed re-adds, and a drain that aborts in-flight work after a timeout.

import PQueue from 'p-queue';

/** What a reconcile asks the queue to do next. `requeueAfter` is in milliseconds. */
export interface ReconcileResult {
  requeueAfter?: number;
}

/** Reconciles one key; throwing means "retry with backoff". Must honour `signal` (see shutDown). */
export type ReconcileFunction = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

/** The `result` label of `netpol_profiles_reconcile_total`. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue';

/** `low` is for the start-up list and periodic resyncs, so live events overtake them. */
export type AddPriority = 'normal' | 'low';

/**
 * Where the queue reports to; the metrics module implements this on top of prom-client, so the
 * queue does not depend on it. Callbacks run after the queue's state is updated and must not throw.
 */
export interface WorkQueueMetrics {
  /** Keys ready to run (both lanes) changed; also called once at construction with 0. */
  depthChanged(controller: string, depth: number): void;
  reconcileFinished(controller: string, outcome: ReconcileOutcome, durationSeconds: number): void;
}

export interface WorkQueueOptions {
  /** The `controller` label of the queue's metrics, e.g. `namespace`. */
  controller: string;
  reconcile: ReconcileFunction;
  /** Reconciles running at once (different keys). Default 4. */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure. Default 5 ms. */
  backoffBaseMs?: number;
  /** Upper bound of the retry delay. Default 1000 s. */
  backoffCapMs?: number;
  metrics?: WorkQueueMetrics;
  /** For logging: a reconcile threw. `retryInMs` is undefined when the queue is shutting down. */
  onError?: (key: string, error: unknown, retryInMs: number | undefined) => void;
  /**
   * Aborting it aborts the signal every reconcile gets, at once (lost leadership); the queue keeps
   * its keys until shutDown.
   */
  signal?: AbortSignal;
}

export interface ShutDownOptions {
  /** After this long, abort the signal given to in-flight reconciles. Default: never abort. */
  drainTimeoutMs?: number;
}

/** p-queue priorities of the two lanes (higher runs first; FIFO within one). */
const LANE_PRIORITY: Record<AddPriority, number> = { normal: 1, low: 0 };

interface DelayedAdd {
  /** performance.now() at which the key becomes ready. */
  readyAt: number;
  timer: NodeJS.Timeout;
}

const DEFAULT_CONCURRENCY = 4;
const DEFAULT_BACKOFF_BASE_MS = 5;
const DEFAULT_BACKOFF_CAP_MS = 1_000_000;

export class WorkQueue {
  private readonly controller: string;
  private readonly reconcile: ReconcileFunction;
  private readonly backoffBaseMs: number;
  private readonly backoffCapMs: number;
  private readonly metrics: WorkQueueMetrics | undefined;
  private readonly onError: WorkQueueOptions['onError'];

  private readonly workers: PQueue;
  /** Keys ready to run and not started, with their lane: each at most once, never while processing. */
  private readonly ready = new Map<string, AddPriority>();
  /**
   * Ready keys of the current synchronous burst, handed to the workers in a microtask, normal lane
   * first: every add of a burst (an informer's list, then a live event) is ordered by lane before
   * the first key starts.
   */
  private readonly burst = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys added while processing ("dirty"): queued again, in this lane, when their run ends. */
  private readonly rerun = new Map<string, AddPriority>();
  private readonly delayed = new Map<string, DelayedAdd>();
  /** Keys added with `coalesceMs`, waiting for their time: further coalesced adds of them are absorbed. */
  private readonly coalescing = new Map<string, NodeJS.Timeout>();
  /** Keys whose last failure carried Retry-After: no run before this performance.now() time, whatever adds them. */
  private readonly notBefore = new Map<string, number>();
  /**
   * Per key: failures counted so far (the exponent of its backoff), and whether the retry the last
   * counted one scheduled is still to come. Failures before that retry is due do not count again
   * (client-go's "once per retry interval"): events run a backing-off key at once, and counting each
   * of those runs would push its backoff to the cap within seconds of an outage.
   */
  private readonly failures = new Map<string, { count: number; retryPending: boolean }>();

  private readonly abortController = new AbortController();
  private shuttingDown = false;
  private drained: Promise<void> | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(options: WorkQueueOptions) {
    this.controller = options.controller;
    this.reconcile = options.reconcile;
    this.backoffBaseMs = options.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.backoffCapMs = options.backoffCapMs ?? DEFAULT_BACKOFF_CAP_MS;
    this.metrics = options.metrics;
    this.onError = options.onError;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
    this.workers = new PQueue({ concurrency });
    const external = options.signal;
    if (external?.aborted) this.abortController.abort(external.reason);
    else external?.addEventListener('abort', () => this.abortController.abort(external.reason), { once: true });
    this.metrics?.depthChanged(this.controller, 0);
  }

  /**
   * Queues `key` unless it is already waiting. A key being processed runs once more afterwards.
   * A normal add promotes a key waiting in the low lane. With `coalesceMs`, the key is queued that
   * long after this add, and further coalesced adds until then are absorbed. Ignored after shutDown.
   */
  add(key: string, options: { priority?: AddPriority; coalesceMs?: number } = {}): void {
    if (this.shuttingDown) return;
    if (options.coalesceMs !== undefined) {
      this.addCoalesced(key, options.coalesceMs);
      return;
    }
    const priority = options.priority ?? 'normal';
    const wait = (this.notBefore.get(key) ?? 0) - performance.now();
    if (wait > 0 && !this.processing.has(key)) {
      // The server asked us to hold off (429/503 Retry-After): an event does not override that.
      this.addAfter(key, wait);
      return;
    }
    this.notBefore.delete(key);
    if (this.processing.has(key)) {
      if (this.rerun.get(key) !== 'normal') this.rerun.set(key, priority);
      return;
    }
    const waiting = this.ready.get(key);
    if (waiting === 'normal' || (waiting === 'low' && priority === 'low')) return;
    this.ready.set(key, priority);
    if (waiting === 'low') {
      // Promoted: to the end of the normal lane, whether the workers have it already or not yet.
      if (this.burst.delete(key)) this.burst.add(key);
      else this.workers.setPriority(key, LANE_PRIORITY.normal);
      return;
    }
    this.depthChanged();
    if (this.burst.size === 0) queueMicrotask(() => this.handOver());
    this.burst.add(key);
  }

  /** Keys ready to run (both lanes); not counting keys processing or waiting on a delay. */
  len(): number {
    return this.ready.size;
  }

  /**
   * Resolves once nothing is queued, processing, coalescing, or delayed with a time already reached.
   * Delayed re-adds due in the future (backoff, requeueAfter) do not keep the queue busy.
   */
  waitForIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking work: queued and delayed keys are dropped and later adds ignored. Resolves when
   * in-flight reconciles have finished; their signal is aborted only once `drainTimeoutMs` passes.
   */
  shutDown(options: ShutDownOptions = {}): Promise<void> {
    if (this.drained) return this.drained;
    this.shuttingDown = true;
    const hadQueued = this.len() > 0;
    this.workers.clear();
    this.ready.clear();
    this.burst.clear();
    this.rerun.clear();
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const timer of this.coalescing.values()) clearTimeout(timer);
    this.coalescing.clear();
    this.notBefore.clear();
    if (hadQueued) this.depthChanged();

    // The workers' own idle: nothing is queued any more, so this is the in-flight reconciles ending.
    const inFlightDone = this.workers.onIdle();
    const drainTimeoutMs = options.drainTimeoutMs;
    if (drainTimeoutMs === undefined || !Number.isFinite(drainTimeoutMs)) {
      this.drained = inFlightDone;
    } else {
      const abortTimer = setTimeout(() => this.abortController.abort(), drainTimeoutMs);
      this.drained = inFlightDone.finally(() => clearTimeout(abortTimer));
    }
    // Whoever waits for idle is told once in-flight work has ended: nothing else will ever run.
    void this.drained.then(() => {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    });
    return this.drained;
  }

  /** Hands the burst to the workers, normal lane first (p-queue keeps FIFO order within a priority). */
  private handOver(): void {
    const keys = [...this.burst];
    this.burst.clear();
    for (const lane of ['normal', 'low'] as const) {
      for (const key of keys) {
        if (this.ready.get(key) !== lane) continue;
        void this.workers.add(() => this.run(key), { priority: LANE_PRIORITY[lane], id: key });
      }
    }
  }

  /** One reconcile of `key`, started by the workers; never throws (the outcome goes to metrics and onError). */
  private async run(key: string): Promise<void> {
    if (!this.ready.delete(key)) return; // dropped by shutDown after it was handed over
    this.processing.add(key);
    this.depthChanged();
    const started = performance.now();
    let outcome: ReconcileOutcome;
    let failure: unknown;
    let retryInMs: number | undefined;
    try {
      const result = await this.reconcile(key, this.abortController.signal);
      const requeueAfter = result?.requeueAfter;
      // "Forget": a run that did not fail resets the key's backoff.
      this.failures.delete(key);
      if (requeueAfter === undefined) {
        outcome = 'success';
        // Level-based: this run saw the current state, so an older pending retry is moot.
        this.cancelDelayed(key);
      } else {
        outcome = 'requeue';
        this.addAfter(key, requeueAfter);
      }
    } catch (error) {
      outcome = 'error';
      failure = error;
      if (!this.shuttingDown) {
        retryInMs = this.retryDelay(key, error);
        this.addAfter(key, retryInMs);
      }
    }
    const durationSeconds = (performance.now() - started) / 1000;

    this.processing.delete(key);
    const rerunPriority = this.rerun.get(key);
    if (rerunPriority !== undefined) {
      this.rerun.delete(key);
      this.add(key, { priority: rerunPriority });
    }
    this.metrics?.reconcileFinished(this.controller, outcome, durationSeconds);
    if (outcome === 'error') this.onError?.(key, failure, retryInMs);
    this.notifyIfIdle();
  }

  /** Per-key exponential backoff, stretched to a server's Retry-After when it asks for longer. */
  private retryDelay(key: string, error: unknown): number {
    const retryAfterMs = retryAfterSecondsOf(error) * 1000;
    if (retryAfterMs > 0) this.notBefore.set(key, performance.now() + retryAfterMs);
    const previous = this.failures.get(key);
    const pending = this.delayed.get(key);
    const remaining = pending ? pending.readyAt - performance.now() : 0;
    if (previous?.retryPending && remaining > 0) {
      // Failed again before its retry was due (an event ran it early): the same retry stands.
      return Math.max(remaining, retryAfterMs);
    }
    const count = (previous?.count ?? 0) + 1;
    this.failures.set(key, { count, retryPending: true });
    const backoff = Math.min(this.backoffCapMs, this.backoffBaseMs * 2 ** Math.min(count - 1, 64));
    return Math.max(backoff, retryAfterMs);
  }

  /** One add of `key` `delayMs` from the first coalesced add, however many follow in between. */
  private addCoalesced(key: string, delayMs: number): void {
    if (this.coalescing.has(key)) return;
    this.coalescing.set(
      key,
      setTimeout(() => {
        this.coalescing.delete(key);
        this.add(key);
        this.notifyIfIdle();
      }, delayMs),
    );
  }

  /** Re-adds `key` after `delayMs`; if a re-add is already pending, the earlier one wins. */
  private addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = performance.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.notBefore.delete(key);
      const failures = this.failures.get(key);
      if (failures) failures.retryPending = false;
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, timer });
  }

  private cancelDelayed(key: string): void {
    const pending = this.delayed.get(key);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.delayed.delete(key);
  }

  /** Nothing queued, processing, coalescing, or delayed with a time already reached. */
  isIdle(): boolean {
    if (this.len() > 0 || this.processing.size > 0 || this.coalescing.size > 0) return false;
    const now = performance.now();
    for (const { readyAt } of this.delayed.values()) {
      if (readyAt <= now) return false;
    }
    return true;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private depthChanged(): void {
    this.metrics?.depthChanged(this.controller, this.len());
  }
}

/** The API layer's TooManyRequests error carries `retryAfterSeconds`; anything else counts as 0. */
function retryAfterSecondsOf(error: unknown): number {
  if (typeof error !== 'object' || error === null || !('retryAfterSeconds' in error)) return 0;
  const seconds = (error as { retryAfterSeconds: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
}
