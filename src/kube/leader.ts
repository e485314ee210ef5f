// Leader election on a coordination.k8s.io/v1 Lease (client-go's algorithm): only the holder writes;
// others keep trying every retry period and take over once the holder has not renewed for a whole
// lease duration, measured on their own clock from when they last saw the lease change. The holder
// steps down if it cannot renew within the renew deadline, and releases the lease on shutdown so a
// standby takes over within one retry period.

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

export interface LeaderElectionOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  onStartedLeading(): void;
  /** Leadership was lost (could not renew in time, or someone else holds the lease). */
  onStoppedLeading(): void;
  onError?(error: unknown): void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private observed: { record: string; at: number } | undefined;
  private lastRenewed = 0;
  private lease: Lease | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: LeaderElectionOptions) {}

  isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.schedule(0);
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
    try {
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) {
        this.lastRenewed = Date.now();
        if (!this.leading && !this.stopped) {
          this.leading = true;
          this.options.onStartedLeading();
        }
        return;
      }
      if (this.leading) this.stepDown();
    } catch (error) {
      this.options.onError?.(error);
      if (this.leading && Date.now() - this.lastRenewed > this.options.renewDeadlineMs) this.stepDown();
    }
  }

  private stepDown(): void {
    this.leading = false;
    this.options.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.options;
    const now = new Date();
    const durationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    let lease: Lease;
    try {
      lease = await api.get<Lease>(RESOURCES.leases, name, namespace);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        this.lease = await api.create<Lease>(RESOURCES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        });
        return true;
      } catch (createError) {
        if (isAlreadyExists(createError)) return false;
        throw createError;
      }
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const record = JSON.stringify([holder, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const heldByOther = holder !== '' && holder !== identity;
    const expiresAt = this.observed.at + (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (heldByOther && Date.now() < expiresAt) return false;

    const next: Lease = {
      ...lease,
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
      this.lease = await api.update<Lease>(RESOURCES.leases, next);
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  /** Stops campaigning; if leading, gives the lease up so a standby can take over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    const lease = this.lease;
    if (!lease) return;
    try {
      const current = await this.options.api.get<Lease>(RESOURCES.leases, this.options.name, this.options.namespace);
      if (current.spec?.holderIdentity !== this.options.identity) return;
      await this.options.api.update<Lease>(RESOURCES.leases, {
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) },
      });
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
