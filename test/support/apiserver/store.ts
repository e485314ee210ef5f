// The storage layer ("etcd plus watch cache"): objects per storage key, one cluster-wide revision
// counter, a bounded history of changes for watches and paged lists, and the set of live watchers.
import type { KubeObject } from './types.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  revision: number;
  storageKey: string;
  /** The object after the change (for DELETED: its last state, carrying the deletion revision). */
  object: KubeObject;
  /** The object before the change, for MODIFIED and DELETED. */
  previous?: KubeObject;
}

/** A consumer of changes, registered by the watch handler. */
export interface StoreListener {
  storageKey: string;
  onEvent(event: StoreEvent): void;
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class ObjectStore {
  private revision = 0;
  private readonly buckets = new Map<string, Map<string, KubeObject>>();
  private readonly sortedKeys = new Map<string, string[]>();
  private history: StoreEvent[] = [];
  /** History holds every event with a revision above this one. */
  private compactedRevision = 0;
  private readonly listeners = new Set<StoreListener>();

  constructor(public historyLimit: number) {}

  currentRevision(): number {
    return this.revision;
  }

  /** The oldest revision a watch may start from (exclusive lower bound of retained history). */
  oldestWatchableRevision(): number {
    return this.compactedRevision;
  }

  nextRevision(): number {
    return ++this.revision;
  }

  get(storageKey: string, key: string): KubeObject | undefined {
    return this.buckets.get(storageKey)?.get(key);
  }

  /** Objects in key order (namespace, then name), as etcd returns them. */
  list(storageKey: string, namespace?: string): KubeObject[] {
    const bucket = this.buckets.get(storageKey);
    if (!bucket) return [];
    const out: KubeObject[] = [];
    for (const key of this.keys(storageKey)) {
      const obj = bucket.get(key)!;
      if (namespace === undefined || obj.metadata.namespace === namespace) out.push(obj);
    }
    return out;
  }

  count(storageKey: string): number {
    return this.buckets.get(storageKey)?.size ?? 0;
  }

  private keys(storageKey: string): string[] {
    let keys = this.sortedKeys.get(storageKey);
    if (!keys) {
      keys = [...(this.buckets.get(storageKey)?.keys() ?? [])].sort(compareKeys);
      this.sortedKeys.set(storageKey, keys);
    }
    return keys;
  }

  /**
   * Records a change whose object already carries `revision` (from nextRevision) and tells the
   * listeners. Objects handed in are owned by the store from now on and never mutated.
   */
  commit(type: EventType, storageKey: string, object: KubeObject, revision: number, previous?: KubeObject): void {
    let bucket = this.buckets.get(storageKey);
    if (!bucket) {
      bucket = new Map();
      this.buckets.set(storageKey, bucket);
    }
    const key = objectKey(object.metadata.namespace, object.metadata.name!);
    if (type === 'DELETED') bucket.delete(key);
    else bucket.set(key, object);
    if (type !== 'MODIFIED') this.sortedKeys.delete(storageKey);
    const event: StoreEvent = { type, revision, storageKey, object };
    if (previous) event.previous = previous;
    this.history.push(event);
    if (this.history.length > this.historyLimit * 2) this.trimHistory();
    for (const listener of this.listeners) {
      if (listener.storageKey === storageKey) listener.onEvent(event);
    }
  }

  private trimHistory(): void {
    const drop = this.history.length - this.historyLimit;
    if (drop <= 0) return;
    this.compactedRevision = this.history[drop - 1]!.revision;
    this.history = this.history.slice(drop);
  }

  /** Drops all history: watches and list continuations from any earlier revision get 410. */
  compact(): void {
    this.history = [];
    this.compactedRevision = this.revision;
  }

  setHistoryLimit(limit: number): void {
    this.historyLimit = limit;
    this.trimHistory();
  }

  /** Events of `storageKey` after `revision`, or undefined when history no longer reaches back. */
  eventsSince(storageKey: string, revision: number): StoreEvent[] | undefined {
    this.trimHistory();
    if (revision < this.compactedRevision) return undefined;
    const out: StoreEvent[] = [];
    // History is sorted by revision: binary-search the start.
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.history.length; i++) {
      const e = this.history[i]!;
      if (e.storageKey === storageKey) out.push(e);
    }
    return out;
  }

  /** The objects of `storageKey` as they were at `revision` (key order), or undefined if compacted. */
  snapshotAt(storageKey: string, revision: number): KubeObject[] | undefined {
    if (revision >= this.revision) return this.list(storageKey);
    const later = this.eventsSince(storageKey, revision);
    if (!later) return undefined;
    const state = new Map<string, KubeObject>();
    for (const obj of this.list(storageKey)) state.set(objectKey(obj.metadata.namespace, obj.metadata.name!), obj);
    for (let i = later.length - 1; i >= 0; i--) {
      const e = later[i]!;
      const key = objectKey(e.object.metadata.namespace, e.object.metadata.name!);
      if (e.type === 'ADDED') state.delete(key);
      else if (e.previous) state.set(key, e.previous);
    }
    return [...state.keys()].sort(compareKeys).map((k) => state.get(k)!);
  }

  addListener(listener: StoreListener): void {
    this.listeners.add(listener);
  }

  removeListener(listener: StoreListener): void {
    this.listeners.delete(listener);
  }

  /** Removes every object of a storage key without events (a CRD's storage going away). */
  dropStorage(storageKey: string): void {
    this.buckets.delete(storageKey);
    this.sortedKeys.delete(storageKey);
  }
}
