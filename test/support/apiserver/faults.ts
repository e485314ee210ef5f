// Fault injection: failing requests (once, N times or at random), latency, and the watch and
// history faults that exercise an operator's recovery paths.
import { ApiError, conflict, internalError, serviceUnavailable, tooManyRequests } from './errors.js';
import type { RequestInfo, RequestMatch } from './requestlog.js';
import type { ObjectStore } from './store.js';
import type { WatchFilter, WatchHub } from './watch.js';

export type { RequestMatch } from './requestlog.js';

export interface FailureSpec extends RequestMatch {
  /** HTTP status to answer with: 409 (Conflict), 429 (with Retry-After), 500, 503, or any other code. */
  status: number;
  /** For 429: seconds in the Retry-After header and Status details (default 1). */
  retryAfterSeconds?: number;
  message?: string;
}

export interface FaultHandle {
  /** Stops this fault (requests already delayed or failed are not affected). */
  remove(): void;
  /** How many requests this fault has hit so far. */
  readonly hits: number;
}

interface Rule {
  match: RequestMatch;
  remaining: number;
  probability: number;
  failure?: FailureSpec;
  latencyMs?: number;
  hits: number;
}

/** mulberry32: small seeded PRNG so random faults are reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function requestMatches(match: RequestMatch, info: RequestInfo, user?: string): boolean {
  if (match.user !== undefined && match.user !== user) return false;
  if (match.verb !== undefined) {
    const verbs = Array.isArray(match.verb) ? match.verb : [match.verb];
    if (!verbs.includes(info.verb)) return false;
  }
  if (match.group !== undefined && match.group !== info.group) return false;
  if (match.resource !== undefined && match.resource !== info.resource) return false;
  if (match.subresource !== undefined && match.subresource !== (info.subresource ?? '')) return false;
  if (match.namespace !== undefined && match.namespace !== info.namespace) return false;
  if (match.name !== undefined && match.name !== info.name) return false;
  return true;
}

function failureError(spec: FailureSpec, info: RequestInfo): ApiError {
  const rt = { group: info.group, plural: info.resource };
  switch (spec.status) {
    case 409:
      return conflict(rt, info.name ?? '', spec.message ?? 'the object has been modified; please apply your changes to the latest version and try again');
    case 429:
      return tooManyRequests(spec.retryAfterSeconds ?? 1);
    case 500:
      return internalError(spec.message ?? 'injected fault');
    case 503:
      return serviceUnavailable(spec.message);
    default:
      return new ApiError(spec.status, 'InternalError', spec.message ?? `injected fault (${spec.status})`);
  }
}

export class FaultInjector {
  private rules: Rule[] = [];
  private random: () => number = seededRandom(1);

  constructor(
    private readonly watches: WatchHub,
    private readonly store: ObjectStore,
  ) {}

  private add(rule: Rule): FaultHandle {
    this.rules.push(rule);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== rule);
      },
      get hits() {
        return rule.hits;
      },
    };
  }

  /** The next `count` requests matching `spec` fail with `spec.status`. */
  failNext(count: number, spec: FailureSpec): FaultHandle {
    return this.add({ match: spec, remaining: count, probability: 1, failure: spec, hits: 0 });
  }

  /** Each request matching `spec` fails with probability `probability` (seeded, see `seed()`). */
  failRandomly(probability: number, spec: FailureSpec): FaultHandle {
    return this.add({ match: spec, remaining: Infinity, probability, failure: spec, hits: 0 });
  }

  /** Requests matching `match` are answered `ms` later. */
  addLatency(ms: number, match: RequestMatch = {}): FaultHandle {
    return this.add({ match, remaining: Infinity, probability: 1, latencyMs: ms, hits: 0 });
  }

  /** Reseeds the PRNG behind failRandomly. */
  seed(seed: number): void {
    this.random = seededRandom(seed);
  }

  /** Ends open watch streams; returns how many. */
  closeWatches(filter: WatchFilter = {}): number {
    return this.watches.closeAll(filter);
  }

  /** Sends an ERROR 410 event to open watches and ends them; returns how many. */
  expireWatches(filter: WatchFilter = {}): number {
    return this.watches.expireAll(filter);
  }

  /**
   * Open watches stop delivering anything (events and bookmarks) but stay connected. With
   * `includeNew`, later watches stall too until the returned handle is removed.
   */
  stallWatches(filter: WatchFilter = {}, includeNew = false): FaultHandle {
    const release = this.watches.stall(filter, includeNew);
    return { remove: release, hits: 0 };
  }

  /** Forgets all history: watches and continue tokens from earlier revisions get 410 Gone (Expired). */
  compactHistory(): void {
    this.store.compact();
  }

  /** Keeps only the last `events` changes for watches and paged lists. */
  setRetainedHistory(events: number): void {
    this.store.setHistoryLimit(events);
  }

  clear(): void {
    this.rules = [];
  }

  /** For the server: the failure and total latency to apply to a request. */
  evaluate(info: RequestInfo, user?: string): { error?: ApiError; latencyMs: number } {
    let latencyMs = 0;
    let error: ApiError | undefined;
    for (const rule of [...this.rules]) {
      if (!requestMatches(rule.match, info, user)) continue;
      if (rule.latencyMs !== undefined) {
        latencyMs += rule.latencyMs;
        rule.hits++;
        continue;
      }
      if (error || !rule.failure) continue;
      if (rule.probability < 1 && this.random() >= rule.probability) continue;
      rule.hits++;
      error = failureError(rule.failure, info);
      if (--rule.remaining <= 0) this.rules = this.rules.filter((r) => r !== rule);
    }
    const result: { error?: ApiError; latencyMs: number } = { latencyMs };
    if (error) result.error = error;
    return result;
  }
}
