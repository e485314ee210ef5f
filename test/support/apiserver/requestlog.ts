// Who asked for what and what they got: every request, queryable from tests (zero-writes checks,
// unused RBAC grants), with counters by verb and resource.

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

export const WRITE_VERBS: readonly Verb[] = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/** What a request is about, in the authorizer's terms (k8s RequestInfo). */
export interface RequestInfo {
  method: string;
  path: string;
  isResourceRequest: boolean;
  /** Kubernetes verb for resource requests; the lowercase HTTP method otherwise. */
  verb: string;
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface UserInfo {
  name: string;
  groups: string[];
}

export interface RequestRecord extends RequestInfo {
  seq: number;
  time: number;
  user: string;
  groups: string[];
  code: number;
  /** The response came from fault injection. */
  injected: boolean;
}

/** Which requests a fault or a query is about; every given field must match. */
export interface RequestMatch {
  verb?: string | string[];
  group?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** The authenticated (or impersonated) user, e.g. to hold only one replica's requests. */
  user?: string;
}

export interface RequestQuery extends RequestMatch {
  code?: number;
  /** Only requests recorded after this sequence number (see RequestLog.mark()). */
  since?: number;
}

export class RequestLog {
  private records: RequestRecord[] = [];
  private seq = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly limit: number) {}

  record(info: RequestInfo, user: UserInfo, code: number, injected: boolean): void {
    const rec: RequestRecord = { ...info, seq: ++this.seq, time: Date.now(), user: user.name, groups: user.groups, code, injected };
    this.records.push(rec);
    if (this.records.length > this.limit * 2) this.records = this.records.slice(-this.limit);
    const key = `${info.verb} ${qualified(info)}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  /** The sequence number of the last request so far: pass it as `since` to see only later ones. */
  mark(): number {
    return this.seq;
  }

  query(q: RequestQuery = {}): RequestRecord[] {
    const verbs = q.verb === undefined ? undefined : Array.isArray(q.verb) ? q.verb : [q.verb];
    return this.records.filter(
      (r) =>
        (q.since === undefined || r.seq > q.since) &&
        (verbs === undefined || verbs.includes(r.verb)) &&
        (q.group === undefined || r.group === q.group) &&
        (q.resource === undefined || r.resource === q.resource) &&
        (q.subresource === undefined || r.subresource === q.subresource) &&
        (q.namespace === undefined || r.namespace === q.namespace) &&
        (q.name === undefined || r.name === q.name) &&
        (q.user === undefined || r.user === q.user) &&
        (q.code === undefined || r.code === q.code),
    );
  }

  /** Create/update/patch/delete requests matching `q` (the "zero writes" check). */
  writes(q: RequestQuery = {}): RequestRecord[] {
    return this.query({ ...q, verb: q.verb ?? [...WRITE_VERBS] });
  }

  /** Requests so far by `verb resource[.group]`, e.g. `{"create ciliumnetworkpolicies.cilium.io": 3}`. */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }

  clear(): void {
    this.records = [];
    this.counts.clear();
  }
}

function qualified(info: RequestInfo): string {
  if (!info.isResourceRequest) return info.path;
  const res = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  return info.group === '' ? res : `${res}.${info.group}`;
}
