// Kubernetes Events (events.k8s.io/v1) about Namespaces and catalog objects, deduplicated so a
// resync or a restart does not repeat them: a Warning's name is derived from what it says, and it is
// created only if no Event of that name exists (checked with a read, so an in-sync restart writes
// nothing).

import { createHash } from 'node:crypto';
import type { KubeApi } from './api.js';
import { isAlreadyExists, isNotFound } from './api.js';
import { microTime } from './time.js';
import { RESOURCES } from './resources.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../config.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  name: string;
  uid?: string;
  /** Namespace of a namespaced object; undefined for cluster-scoped ones. */
  namespace?: string;
}

export type EventType = 'Normal' | 'Warning';

const MAX_REMEMBERED = 50_000;

export class EventRecorder {
  /** Events known to exist: namespace → names. */
  private readonly remembered = new Map<string, Set<string>>();
  private rememberedCount = 0;

  /**
   * `dryRun`: shadow mode writes nothing, Events included; each Event it would record goes to
   * `onDryRun` (the log) once instead.
   */
  constructor(
    private readonly api: KubeApi,
    private readonly instance: string,
    private readonly onError: (error: unknown) => void = () => {},
    private readonly dryRun?: { onDryRun: (event: { namespace: string; regarding: string; type: EventType; reason: string; note: string }) => void },
  ) {}

  /** Where an Event about `target` lives: its own namespace, the namespace itself, or `default`. */
  static eventNamespace(target: EventTarget): string {
    if (target.namespace) return target.namespace;
    if (target.kind === 'Namespace') return target.name;
    return 'default';
  }

  /**
   * Records an Event once: the same target, type, reason and note give the same Event name, and an
   * existing Event of that name is not created again.
   */
  async record(target: EventTarget, type: EventType, reason: string, note: string, signal?: AbortSignal): Promise<void> {
    const namespace = EventRecorder.eventNamespace(target);
    const digest = createHash('sha256').update(JSON.stringify([target.kind, target.name, target.uid ?? '', type, reason, note])).digest('hex').slice(0, 16);
    const name = `${target.name.slice(0, 200)}.${digest}`;
    if (this.remembered.get(namespace)?.has(name)) return;
    const key = { namespace, name };
    if (this.dryRun) {
      this.remember(key);
      this.dryRun.onDryRun({ namespace, regarding: `${target.kind}/${target.name}`, type, reason, note });
      return;
    }
    try {
      try {
        await this.api.get(RESOURCES.events, name, namespace, { signal });
        this.remember(key);
        return;
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      await this.api.create(RESOURCES.events, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } },
        eventTime: microTime(new Date()),
        reportingController: 'netpol-profiles',
        reportingInstance: this.instance,
        action: 'Reconcile',
        type,
        reason,
        note: note.slice(0, 1024),
        regarding: { apiVersion: target.apiVersion, kind: target.kind, name: target.name, ...(target.uid ? { uid: target.uid } : {}), ...(target.namespace ? { namespace: target.namespace } : {}) },
      }, { signal });
      this.remember(key);
    } catch (error) {
      if (isAlreadyExists(error)) this.remember(key);
      else if (signal?.aborted) throw signal.reason;
      else this.onError(error);
    }
  }

  private remember({ namespace, name }: { namespace: string; name: string }): void {
    if (this.rememberedCount >= MAX_REMEMBERED) {
      this.remembered.clear();
      this.rememberedCount = 0;
    }
    let names = this.remembered.get(namespace);
    if (!names) this.remembered.set(namespace, (names = new Set()));
    if (!names.has(name)) this.rememberedCount++;
    names.add(name);
  }

  /** The namespace is gone, and its Events with it. */
  forgetNamespace(namespace: string): void {
    this.rememberedCount -= this.remembered.get(namespace)?.size ?? 0;
    this.remembered.delete(namespace);
  }

  /** Events remembered as recorded (bounded by MAX_REMEMBERED). */
  get size(): number {
    return this.rememberedCount;
  }
}
