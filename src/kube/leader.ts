// Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm): only the holder writes;
// others keep trying every retry period and take over once the holder has not renewed for a whole
// lease duration, measured on their own clock from when they last saw the lease change.
//
// The holder's leadership is bounded by time, not by answers: it lasts until the renew deadline after
// the last successful renewal was *sent*. A watchdog steps down at that moment whatever is in flight,
// every Lease request is aborted by then, and `checkCanWrite` (the fence every write passes right
// before it is sent) refuses from then on, even before the watchdog has run (a paused process).
// Another replica can acquire no earlier than a lease duration after that same renewal, so the
// difference (lease duration − renew deadline) is the margin for writes already on the wire and for
// clocks that run at slightly different rates. A replica that lost the lease does not campaign again;
// the process exits and restarts. On shutdown the holder releases the lease so a standby takes over
// within one retry period.

import { microTime } from './time.js';
import type { KubeApi } from './api.js';
import { isAlreadyExists, isConflict, isNotFound } from './api.js';
import { RESOURCES } from './resources.js';
import type { KubeObject } from './types.js';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** On the Lease: what its holder does, `enforce` or `dry-run` (so `status` can tell a shadow leader from an enforcing one). */
export const LEASE_MODE_ANNOTATION = 'netpol-profiles/mode';

export interface LeaderElectionOptions {
  api: KubeApi;
  /** Written on the Lease with every acquire and renewal (e.g. the mode). */
  annotations?: Readonly<Record<string, string>>;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading(): void;
  /** Leadership ended: not renewed within the renew deadline, or someone else holds the lease. */
  onStoppedLeading(reason: string): void;
  onError?(error: unknown): void;
  /** Monotonic milliseconds; `performance.now` unless a test says otherwise. */
  now?: () => number;
}

/** A write refused because this replica does not (or may no longer) hold the lease. */
export class NotLeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotLeaderError';
  }
}

type Attempt = { outcome: 'acquired' } | { outcome: 'held'; holder: string } | { outcome: 'conflict' };

export class LeaderElector {
  private readonly now: () => number;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  /** Monotonic time the last successful acquire or renew was sent. */
  private renewSentAt = Number.NEGATIVE_INFINITY;
  private lease: Lease | undefined;
  private running: Promise<void> | undefined;
  /** Aborts the Lease requests of the attempt in progress. */
  private attempt: AbortController | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.now = options.now ?? (() => performance.now());
  }

  /** Leads, and the last renewal is recent enough to act on. */
  isLeader(): boolean {
    return this.leading && this.now() < this.deadline();
  }

  /** The fence: throws NotLeaderError unless this replica leads within its renew deadline. */
  checkCanWrite(): void {
    if (!this.leading) throw new NotLeaderError(`${this.options.identity} does not hold the lease ${this.options.namespace}/${this.options.name}; write not sent`);
    const since = this.now() - this.renewSentAt;
    if (since >= this.options.renewDeadlineMs) {
      throw new NotLeaderError(`lease not renewed for ${Math.round(since)} ms (renew deadline ${this.options.renewDeadlineMs} ms); write not sent`);
    }
  }

  start(): void {
    this.schedule(0);
  }

  private deadline(): number {
    return this.renewSentAt + this.options.renewDeadlineMs;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.options.retryPeriodMs);
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const sentAt = this.now();
    const controller = new AbortController();
    this.attempt = controller;
    // No Lease request outlives what it could still be good for: while leading, the deadline (a
    // renewal that answers later is worthless); otherwise one renew deadline.
    const budgetMs = this.leading ? this.deadline() - sentAt : this.options.renewDeadlineMs;
    const timeout = setTimeout(() => controller.abort(new Error(`lease request took longer than ${Math.round(budgetMs)} ms`)), Math.max(0, budgetMs));
    try {
      const attempt = await this.tryAcquireOrRenew(controller.signal);
      if (this.stopped) return;
      if (attempt.outcome === 'acquired') this.renewed(sentAt);
      else if (attempt.outcome === 'held' && this.leading) this.stepDown(`the lease is held by ${attempt.holder}`);
      // A conflict while leading is retried every retry period until the deadline, as client-go does.
    } catch (error) {
      if (!this.stopped) this.options.onError?.(controller.signal.aborted ? controller.signal.reason : error);
    } finally {
      clearTimeout(timeout);
      if (this.attempt === controller) this.attempt = undefined;
    }
  }

  private renewed(sentAt: number): void {
    this.renewSentAt = sentAt;
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(
      () => this.stepDown(`lease not renewed within the renew deadline (${this.options.renewDeadlineMs} ms)`),
      Math.max(0, this.deadline() - this.now()),
    );
    if (!this.leading) {
      this.leading = true;
      this.options.onStartedLeading();
    }
  }

  private stepDown(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    // client-go's elector does not campaign again after losing the lease; the process restarts.
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.attempt?.abort(new Error('leadership lost'));
    this.options.onStoppedLeading(reason);
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const { api, namespace, name, identity } = this.options;
    const now = new Date();
    const durationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await api.get<Lease>(RESOURCES.leases, name, namespace, { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        this.lease = await api.create<Lease>(
          RESOURCES.leases,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace, ...(this.options.annotations ? { annotations: { ...this.options.annotations } } : {}) },
            spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
          },
          { signal },
        );
        return { outcome: 'acquired' };
      } catch (createError) {
        if (isAlreadyExists(createError)) return { outcome: 'conflict' };
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([holder, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: this.now() };
    const heldByOther = holder !== '' && holder !== identity;
    const expiresAt = this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    // A leader that finds someone else's name on the lease has lost it, expired or not.
    if (heldByOther && (this.leading || this.now() < expiresAt)) return { outcome: 'held', holder };

    const next: Lease = {
      ...lease,
      ...(this.options.annotations ? { metadata: { ...lease.metadata, annotations: { ...lease.metadata?.annotations, ...this.options.annotations } } } : {}),
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(now),
        acquireTime: holder === identity ? spec.acquireTime : microTime(now),
        leaseTransitions: holder === identity ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + 1,
      },
    };
    try {
      this.lease = await api.update<Lease>(RESOURCES.leases, next, { signal });
      return { outcome: 'acquired' };
    } catch (error) {
      if (isConflict(error)) return { outcome: 'conflict' };
      throw error;
    }
  }

  /**
   * Stops campaigning; if leading, gives the lease up so a standby can take over at once. The release
   * gets `releaseTimeoutMs`: when the API does not answer in time, the lease is left to expire.
   */
  async stop(releaseTimeoutMs = 2_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.watchdog);
    this.attempt?.abort(new Error('shutting down'));
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    if (!this.lease) return;
    const signal = AbortSignal.timeout(releaseTimeoutMs);
    try {
      const { api, name, namespace, identity } = this.options;
      const current = await api.get<Lease>(RESOURCES.leases, name, namespace, { signal });
      if (current.spec?.holderIdentity !== identity) return;
      await api.update<Lease>(
        RESOURCES.leases,
        { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) } },
        { signal },
      );
    } catch (error) {
      this.options.onError?.(signal.aborted ? new Error(`lease not released: no answer within ${releaseTimeoutMs} ms; it expires on its own`) : error);
    }
  }
}
