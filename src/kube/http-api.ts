// KubeApi over node:http(s) with a keep-alive agent: the verbs the operator uses, a deadline per
// request, watch streams read as line-delimited JSON, typed errors, and hooks that count requests.

import type { KubeConfig } from '@kubernetes/client-node';
import type { IncomingMessage } from 'node:http';
import {
  ApiError,
  type ApiErrorReason,
  type DeleteOptions,
  type KubeApi,
  type ListOptions,
  type ListResult,
  type PatchType,
  type RequestOptions,
  type WatchEventType,
  type WatchHandlers,
  type WatchOptions,
  type WriteVerb,
} from './api.js';
import { connectionError, describeCall, errorFromResponse, errorFromWatchStatus, malformedAnswer, noAnswerError, type CallTarget } from './api-errors.js';
import { apiVersionOf, resourcePath, type ResourceRef } from './resources.js';
import { KubeTransport } from './transport.js';
import { isRecord, type KubeObject } from './types.js';

/** The API verb of a request, as RBAC and audit logs name it. `updateStatus` is an `update`. */
export type RequestVerb = 'get' | 'list' | 'watch' | WriteVerb;

/** How a request ended: `success`, or the reason of the ApiError it failed with. */
export type RequestOutcome = 'success' | ApiErrorReason;

export interface HttpKubeApiOptions {
  /** Deadline of every request except watches, from sending to the last body byte. Default 30 s. */
  requestTimeoutMs?: number;
  /** `User-Agent` header, e.g. `netpol-profiles/0.1.0`. */
  userAgent?: string;
  /** Called once per answered or failed request (a watch: when its stream ends); not for requests the caller aborted. */
  onRequest?: (verb: RequestVerb, resource: ResourceRef, outcome: RequestOutcome) => void;
  /** Called for every write request sent, before its answer is known (counts successes and failures; not writes a fence stopped). */
  onWrite?: (verb: WriteVerb, kind: string) => void;
}

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

const WRITE_VERBS: ReadonlySet<string> = new Set<WriteVerb>(['create', 'update', 'patch', 'delete']);

interface Call extends CallTarget {
  verb: RequestVerb;
}

interface Outgoing {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: URLSearchParams;
  body?: string;
  contentType?: string;
  signal?: AbortSignal;
  beforeSend?: () => void;
}

export class HttpKubeApi implements KubeApi {
  private readonly transport: KubeTransport;
  private readonly requestTimeoutMs: number;

  constructor(
    kc: KubeConfig,
    private readonly options: HttpKubeApiOptions = {},
  ) {
    this.transport = new KubeTransport(kc);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  /** The API server's origin (scheme, host, port), for logs: a path could carry a credential. */
  get server(): string {
    return this.transport.server.origin;
  }

  /** Closes kept-alive connections; in-flight requests and watches fail or end. */
  close(): void {
    this.transport.close();
  }

  async get<T extends KubeObject>(resource: ResourceRef, name: string, namespace?: string, options: RequestOptions = {}): Promise<T> {
    const call = target('get', resource, namespace, name);
    return this.exchange<T>(call, { method: 'GET', path: resourcePath(resource, namespace, name), ...requestOptions(options) });
  }

  async list<T extends KubeObject>(resource: ResourceRef, options: ListOptions = {}): Promise<ListResult<T>> {
    const call = target('list', resource, options.namespace);
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.limit !== undefined && options.limit > 0) query.set('limit', String(options.limit));
    if (options.continue) query.set('continue', options.continue);
    if (options.resourceVersion !== undefined) query.set('resourceVersion', options.resourceVersion);
    const outgoing: Outgoing = { method: 'GET', path: resourcePath(resource, options.namespace), query, ...requestOptions(options) };
    const body = await this.exchange<unknown>(call, outgoing);
    if (!isRecord(body) || !Array.isArray(body.items)) throw malformedAnswer(call, 200, 'the answer is not a list');
    const metadata = isRecord(body.metadata) ? body.metadata : {};
    // Lists of built-in kinds carry no apiVersion/kind per item; give every item its type, in
    // place (no copy), so cached objects look the same whether they came from a list or a watch.
    const apiVersion = apiVersionOf(resource);
    for (const item of body.items as KubeObject[]) {
      item.apiVersion ??= apiVersion;
      item.kind ??= resource.kind;
    }
    const result: ListResult<T> = { items: body.items as T[], resourceVersion: typeof metadata.resourceVersion === 'string' ? metadata.resourceVersion : '' };
    if (typeof metadata.continue === 'string' && metadata.continue !== '') result.continue = metadata.continue;
    return result;
  }

  async create<T extends KubeObject>(resource: ResourceRef, object: T, options: RequestOptions = {}): Promise<T> {
    const namespace = object.metadata?.namespace;
    const call = target('create', resource, namespace, object.metadata?.name ?? object.metadata?.generateName);
    return this.exchange<T>(call, { method: 'POST', path: resourcePath(resource, namespace), ...jsonBody(resource, object), ...requestOptions(options) });
  }

  async update<T extends KubeObject>(resource: ResourceRef, object: T, options: RequestOptions = {}): Promise<T> {
    const { namespace, name } = identity('update', resource, object);
    const call = target('update', resource, namespace, name);
    return this.exchange<T>(call, { method: 'PUT', path: resourcePath(resource, namespace, name), ...jsonBody(resource, object), ...requestOptions(options) });
  }

  async updateStatus<T extends KubeObject>(resource: ResourceRef, object: T, options: RequestOptions = {}): Promise<T> {
    const { namespace, name } = identity('update', resource, object);
    const call: Call = { ...target('update', resource, namespace, name), subresource: 'status' };
    return this.exchange<T>(call, {
      method: 'PUT',
      path: `${resourcePath(resource, namespace, name)}/status`,
      ...jsonBody(resource, object),
      ...requestOptions(options),
    });
  }

  async patch<T extends KubeObject>(
    resource: ResourceRef,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    type: PatchType,
    options: RequestOptions = {},
  ): Promise<T> {
    const call = target('patch', resource, namespace, name);
    return this.exchange<T>(call, {
      method: 'PATCH',
      path: resourcePath(resource, namespace, name),
      body: JSON.stringify(patch),
      contentType: PATCH_CONTENT_TYPES[type],
      ...requestOptions(options),
    });
  }

  async delete(resource: ResourceRef, name: string, namespace?: string, options: DeleteOptions = {}): Promise<void> {
    const call = target('delete', resource, namespace, name);
    const outgoing: Outgoing = { method: 'DELETE', path: resourcePath(resource, namespace, name), ...requestOptions(options) };
    if (options.preconditions) {
      outgoing.body = JSON.stringify({ apiVersion: 'v1', kind: 'DeleteOptions', preconditions: options.preconditions });
      outgoing.contentType = 'application/json';
    }
    await this.exchange<unknown>(call, outgoing);
  }

  async watch<T extends KubeObject>(resource: ResourceRef, options: WatchOptions, handlers: WatchHandlers<T>, signal: AbortSignal): Promise<void> {
    const call = target('watch', resource, options.namespace);
    if (signal.aborted) return;
    const query = new URLSearchParams({ watch: 'true', resourceVersion: options.resourceVersion });
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    if (options.allowWatchBookmarks) query.set('allowWatchBookmarks', 'true');
    if (options.timeoutSeconds !== undefined) query.set('timeoutSeconds', String(options.timeoutSeconds));
    let outcome: RequestOutcome = 'success';
    try {
      await this.stream(call, { method: 'GET', path: resourcePath(resource, options.namespace), query, signal }, handlers);
    } catch (error) {
      if (error instanceof ApiError) outcome = error.reason;
      throw error;
    } finally {
      this.options.onRequest?.('watch', resource, outcome);
    }
  }

  // -------------------------------------------------------------------------------------------

  /** One request and its whole answer, within the deadline; 2xx bodies are parsed as JSON. */
  private async exchange<T>(call: Call, outgoing: Outgoing): Promise<T> {
    const isWrite = WRITE_VERBS.has(call.verb);
    const beforeSend = () => {
      outgoing.beforeSend?.();
      if (isWrite) this.options.onWrite?.(call.verb as WriteVerb, call.resource.kind);
    };
    // One signal for the request: the deadline, or the caller's signal forwarded (by hand rather
    // than AbortSignal.any, whose dependents pile up on a long-lived caller signal).
    const cancel = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      cancel.abort();
    }, this.requestTimeoutMs);
    const forward = () => cancel.abort(outgoing.signal?.reason);
    if (outgoing.signal?.aborted) forward();
    else outgoing.signal?.addEventListener('abort', forward, { once: true });
    let outcome: RequestOutcome | undefined = 'success';
    try {
      const res = await this.open({ ...outgoing, signal: cancel.signal, beforeSend });
      const text = await readText(res);
      const code = res.statusCode ?? 0;
      if (code < 200 || code >= 300) throw errorFromResponse(call, code, text, header(res, 'retry-after'));
      try {
        return JSON.parse(text) as T;
      } catch {
        throw malformedAnswer(call, code, 'the answer is not JSON');
      }
    } catch (error) {
      if (outgoing.signal?.aborted) {
        outcome = undefined;
        throw outgoing.signal.reason;
      }
      if (error instanceof NotSent) {
        outcome = undefined;
        throw error.cause;
      }
      const failure = timedOut ? noAnswerError(call, this.requestTimeoutMs) : this.asApiError(call, error);
      outcome = failure.reason;
      throw failure;
    } finally {
      clearTimeout(timer);
      outgoing.signal?.removeEventListener('abort', forward);
      if (outcome !== undefined) this.options.onRequest?.(call.verb, call.resource, outcome);
    }
  }

  /** Reads a watch stream event by event until it ends (resolves), is aborted (resolves) or fails. */
  private async stream<T>(call: Call, outgoing: Outgoing, handlers: WatchHandlers<T>): Promise<void> {
    const signal = outgoing.signal!;
    let res: IncomingMessage;
    try {
      res = await this.open(outgoing);
    } catch (error) {
      if (signal.aborted) return;
      throw this.asApiError(call, error);
    }
    try {
      if (res.statusCode !== 200) {
        throw errorFromResponse(call, res.statusCode ?? 0, await readText(res), header(res, 'retry-after'));
      }
      res.setEncoding('utf8');
      let pending = '';
      for await (const chunk of res as AsyncIterable<string>) {
        pending += chunk;
        let start = 0;
        let newline: number;
        while ((newline = pending.indexOf('\n', start)) >= 0) {
          const line = pending.slice(start, newline).trim();
          start = newline + 1;
          if (line !== '') deliver(parseWatchEvent<T>(call, line), handlers);
        }
        pending = pending.slice(start);
      }
      if (pending.trim() !== '') deliver(parseWatchEvent<T>(call, pending.trim()), handlers);
    } catch (error) {
      if (error instanceof HandlerFailure) throw error.cause;
      if (signal.aborted) return;
      if (error instanceof ApiError) throw error;
      // The connection dropped mid-stream: for a watch that is an ordinary end (the caller
      // re-watches from the last resourceVersion it saw), as for client-go's reflector.
      return;
    } finally {
      res.destroy();
    }
  }

  /** Sends the request; resolves when the answer's headers arrive. Aborting `signal` destroys it. */
  private async open(outgoing: Outgoing): Promise<IncomingMessage> {
    const { agent, headers, auth } = await this.transport.prepare();
    outgoing.signal?.throwIfAborted();
    // The last moment before the request leaves: a fence that says no keeps it from being sent.
    try {
      outgoing.beforeSend?.();
    } catch (error) {
      throw new NotSent('not sent', { cause: error });
    }
    const query = outgoing.query?.toString();
    const server = this.transport.server;
    const requestHeaders: Record<string, string> = { ...headers, Accept: 'application/json' };
    if (this.options.userAgent) requestHeaders['User-Agent'] = this.options.userAgent;
    if (outgoing.body !== undefined) {
      requestHeaders['Content-Type'] = outgoing.contentType ?? 'application/json';
      requestHeaders['Content-Length'] = String(Buffer.byteLength(outgoing.body));
    }
    return new Promise((resolve, reject) => {
      const req = this.transport.request({
        protocol: server.protocol,
        hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: server.port || (this.transport.secure ? 443 : 80),
        path: `${this.transport.basePath}${outgoing.path}${query ? `?${query}` : ''}`,
        method: outgoing.method,
        headers: requestHeaders,
        agent,
        ...(auth !== undefined ? { auth } : {}),
        ...(outgoing.signal ? { signal: outgoing.signal } : {}),
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end(outgoing.body);
    });
  }

  private asApiError(call: Call, error: unknown): ApiError {
    return error instanceof ApiError ? error : connectionError(call, error);
  }
}

/** The caller's signal and fence, when given (exactOptionalPropertyTypes: no undefined members). */
function requestOptions(options: RequestOptions): Pick<Outgoing, 'signal' | 'beforeSend'> {
  const picked: Pick<Outgoing, 'signal' | 'beforeSend'> = {};
  if (options.signal) picked.signal = options.signal;
  if (options.beforeSend) picked.beforeSend = options.beforeSend;
  return picked;
}

/** Wraps what `beforeSend` threw: the request never left, and the caller gets that error as it is. */
class NotSent extends Error {}

/** Wraps what a watch handler threw, so it is not mistaken for the stream failing. */
class HandlerFailure extends Error {}

function deliver<T>(event: { type: WatchEventType; object: T }, handlers: WatchHandlers<T>): void {
  try {
    handlers.onEvent(event.type, event.object);
  } catch (error) {
    throw new HandlerFailure('watch handler failed', { cause: error });
  }
}

/** One line of a watch stream; an ERROR event becomes the ApiError its Status describes. */
function parseWatchEvent<T>(call: Call, line: string): { type: WatchEventType; object: T } {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw malformedAnswer(call, 200, 'a watch event is not JSON');
  }
  if (!isRecord(event) || typeof event.type !== 'string') throw malformedAnswer(call, 200, 'a watch event has no type');
  if (event.type === 'ERROR') throw errorFromWatchStatus(call, event.object);
  if (!isRecord(event.object)) throw malformedAnswer(call, 200, `a ${event.type} watch event has no object`);
  return { type: event.type as WatchEventType, object: event.object as T };
}

function target(verb: RequestVerb, resource: ResourceRef, namespace?: string, name?: string): Call {
  const call: Call = { verb, resource };
  if (namespace !== undefined && resource.namespaced) call.namespace = namespace;
  if (name !== undefined) call.name = name;
  return call;
}

function identity(verb: RequestVerb, resource: ResourceRef, object: KubeObject): { namespace: string | undefined; name: string } {
  const name = object.metadata?.name;
  if (!name) throw new ApiError('BadRequest', 0, `${describeCall({ verb, resource })}: the object has no metadata.name`);
  return { namespace: object.metadata?.namespace, name };
}

/** The object as JSON, with its apiVersion and kind filled in when the caller left them out. */
function jsonBody(resource: ResourceRef, object: KubeObject): { body: string; contentType: string } {
  const typed = object.apiVersion && object.kind ? object : { ...object, apiVersion: object.apiVersion ?? apiVersionOf(resource), kind: object.kind ?? resource.kind };
  return { body: JSON.stringify(typed), contentType: 'application/json' };
}

function header(res: IncomingMessage, name: string): string | undefined {
  const value = res.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readText(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
