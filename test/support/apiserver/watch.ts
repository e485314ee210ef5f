// Watch streams: initial state or history replay from a resourceVersion, live events filtered by
// namespace and selectors, bookmarks, timeouts, 410 for compacted history, and the hooks fault
// injection uses to close or stall open watches.
import type { ServerResponse } from 'node:http';
import { expired } from './errors.js';
import type { ObjectRegistry } from './registry.js';
import { parseFieldSelector, parseLabelSelector, type FieldSelector, type LabelSelector } from './selectors.js';
import type { ObjectStore, StoreEvent, StoreListener } from './store.js';
import { toTable, type IncludeObject } from './table.js';
import { groupVersion, type KubeObject, type ResourceType } from './types.js';

export interface WatchRequest {
  rt: ResourceType;
  namespace: string | undefined;
  labelSelector: string | null;
  fieldSelector: string | null;
  resourceVersion: string | null;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds: number;
  table: IncludeObject | null;
}

export interface WatchFilter {
  group?: string;
  resource?: string;
  namespace?: string;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

// Stored objects never change, so every watcher of a kind can share one serialisation of each.
const serializations = new WeakMap<KubeObject, string>();

function serialized(obj: KubeObject): string {
  let text = serializations.get(obj);
  if (text === undefined) {
    text = JSON.stringify(obj);
    serializations.set(obj, text);
  }
  return text;
}

/** One open watch connection. */
class WatchStream implements StoreListener {
  readonly storageKey: string;
  stalled = false;
  private closed = false;
  private sentHeaders = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly labels: LabelSelector;
  private readonly fields: FieldSelector;

  constructor(
    readonly req: WatchRequest,
    private readonly res: ServerResponse,
    private readonly registry: ObjectRegistry,
    private readonly store: ObjectStore,
    private readonly onClose: (s: WatchStream) => void,
  ) {
    this.storageKey = req.rt.storageKey;
    this.labels = parseLabelSelector(req.labelSelector);
    this.fields = parseFieldSelector(req.fieldSelector, req.rt.conversion ? 'Event' : req.rt.kind);
  }

  matches(obj: KubeObject | undefined): boolean {
    if (!obj) return false;
    const { rt, namespace } = this.req;
    if (rt.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) return false;
    return this.labels(obj.metadata.labels) && this.fields(obj);
  }

  matchesFilter(filter: WatchFilter): boolean {
    const { rt, namespace } = this.req;
    if (filter.group !== undefined && filter.group !== rt.group) return false;
    if (filter.resource !== undefined && filter.resource !== rt.plural) return false;
    if (filter.namespace !== undefined && filter.namespace !== namespace) return false;
    return true;
  }

  start(initial: KubeObject[] | null, replay: StoreEvent[], bookmarkIntervalMs: number): void {
    this.res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    // Clients wait for the response headers before they consider the watch established.
    this.res.flushHeaders();
    this.sentHeaders = true;
    if (initial) for (const obj of initial) this.send('ADDED', obj);
    if (initial && this.req.sendInitialEvents && this.req.allowBookmarks) this.sendBookmark(true);
    for (const event of replay) this.onEvent(event);
    if (this.req.allowBookmarks && bookmarkIntervalMs > 0) {
      const t = setInterval(() => this.sendBookmark(false), bookmarkIntervalMs);
      this.timers.push(t);
    }
    this.timers.push(setTimeout(() => this.close(), this.req.timeoutSeconds * 1000));
    this.res.on('close', () => this.close());
  }

  onEvent(event: StoreEvent): void {
    if (this.closed || this.stalled) return;
    const now = this.matches(event.object);
    if (event.type === 'ADDED') {
      if (now) this.send('ADDED', event.object);
    } else if (event.type === 'DELETED') {
      if (this.matches(event.previous ?? event.object)) this.send('DELETED', event.object);
    } else {
      const before = this.matches(event.previous);
      if (now && before) this.send('MODIFIED', event.object);
      else if (now) this.send('ADDED', event.object);
      else if (before) this.send('DELETED', event.object);
    }
  }

  private sendBookmark(initialEventsEnd: boolean): void {
    if (this.closed || this.stalled) return;
    const { rt } = this.req;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.currentRevision()) };
    if (initialEventsEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    this.write('BOOKMARK', { kind: rt.kind, apiVersion: groupVersion(rt), metadata });
  }

  private send(type: WatchEventType, stored: KubeObject): void {
    const { rt } = this.req;
    if (this.req.table) {
      const view = this.registry.toView(rt, stored);
      this.write(type, toTable(rt, [view], this.req.table, { resourceVersion: view.metadata.resourceVersion ?? '' }));
    } else if (rt.conversion) {
      this.write(type, this.registry.toView(rt, stored));
    } else {
      this.res.write(`{"type":"${type}","object":${serialized(stored)}}\n`);
    }
  }

  private write(type: WatchEventType, object: unknown): void {
    this.res.write(`{"type":"${type}","object":${JSON.stringify(object)}}\n`);
  }

  /** Sends the 410 a client must answer with a relist, then ends the stream. */
  expire(message: string): void {
    if (!this.sentHeaders) this.start(null, [], 0);
    this.write('ERROR', expired(message).toStatus());
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.onClose(this);
    if (!this.res.writableEnded) this.res.end();
  }
}

export class WatchHub {
  private readonly streams = new Set<WatchStream>();
  /** Filters whose new watches start stalled (see stall()). */
  private readonly stallNew = new Set<WatchFilter>();

  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ObjectRegistry,
    public bookmarkIntervalMs: number,
  ) {}

  /** Starts a watch; parse errors (400) are thrown before anything is written. */
  serve(req: WatchRequest, res: ServerResponse): void {
    const stream = new WatchStream(req, res, this.registry, this.store, (s) => this.detach(s));
    const rvText = req.resourceVersion;
    let initial: KubeObject[] | null = null;
    let replay: StoreEvent[] = [];
    if (!rvText || rvText === '0' || req.sendInitialEvents) {
      initial = this.store.list(req.rt.storageKey).filter((o) => stream.matches(o));
    } else {
      const revision = this.registry.parseRevision(rvText);
      const events = this.store.eventsSince(req.rt.storageKey, revision);
      if (!events) {
        stream.expire(`too old resource version: ${revision} (${this.store.oldestWatchableRevision() + 1})`);
        return;
      }
      replay = events;
    }
    for (const filter of this.stallNew) if (stream.matchesFilter(filter)) stream.stalled = true;
    // Registered in the same tick as the snapshot above: no event can fall in between.
    this.streams.add(stream);
    this.store.addListener(stream);
    stream.start(initial, replay, this.bookmarkIntervalMs);
  }

  private detach(stream: WatchStream): void {
    this.streams.delete(stream);
    this.store.removeListener(stream);
  }

  openCount(filter: WatchFilter = {}): number {
    return [...this.streams].filter((s) => s.matchesFilter(filter)).length;
  }

  /** Ends open watches (clients see the stream end, as when a server or proxy drops them). */
  closeAll(filter: WatchFilter = {}): number {
    const matching = [...this.streams].filter((s) => s.matchesFilter(filter));
    for (const s of matching) s.close();
    return matching.length;
  }

  /** Sends 410 to open watches and ends them, as a server does when their position expires. */
  expireAll(filter: WatchFilter = {}): number {
    const matching = [...this.streams].filter((s) => s.matchesFilter(filter));
    for (const s of matching) s.expire(`too old resource version: ${s.req.resourceVersion ?? 0} (${this.store.currentRevision()})`);
    return matching.length;
  }

  /**
   * Open watches stay connected but deliver nothing more (no events, no bookmarks), like a dead
   * connection; with `includeNew`, watches opened later stall too until the returned function runs.
   */
  stall(filter: WatchFilter = {}, includeNew = false): () => void {
    for (const s of this.streams) if (s.matchesFilter(filter)) s.stalled = true;
    if (!includeNew) return () => undefined;
    this.stallNew.add(filter);
    return () => this.stallNew.delete(filter);
  }
}
