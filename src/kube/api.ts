// The operator's only door to the Kubernetes API: the verbs it uses, for the resources it uses,
// with API failures mapped to typed errors. Reconcilers, caches, leader election and events depend
// on the `KubeApi` interface; `HttpKubeApi` (kube/http-api.ts) implements it over HTTP.

import type { KubeObject } from './types.js';
import type { ResourceRef } from './resources.js';

export interface ListOptions extends RequestOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchHandlers<T> {
  onEvent(type: WatchEventType, object: T): void;
}

export type PatchType = 'merge' | 'json' | 'strategic';

/** Per-request options of the verbs that take no other options. */
export interface RequestOptions {
  /** Abandons the request: the promise rejects with the signal's reason (shutdown, lost leadership). */
  signal?: AbortSignal;
  /**
   * Called synchronously right before the request is sent; if it throws, nothing is sent and the
   * promise rejects with what it threw. Leader election fences writes with it (see kube/fenced-api.ts).
   */
  beforeSend?: () => void;
}

export interface DeleteOptions extends RequestOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** A write the API accepted or refused; counted for `netpol_profiles_api_writes_total`. */
export type WriteVerb = 'create' | 'update' | 'patch' | 'delete';

export interface KubeApi {
  get<T extends KubeObject>(resource: ResourceRef, name: string, namespace?: string, options?: RequestOptions): Promise<T>;
  list<T extends KubeObject>(resource: ResourceRef, options?: ListOptions): Promise<ListResult<T>>;
  /**
   * Streams watch events until the server ends the stream (resolves), the signal aborts
   * (resolves), or it fails (rejects with an ApiError; an expired resourceVersion is `Gone`, whether
   * the server answers 410 or sends an ERROR event carrying a 410 Status).
   */
  watch<T extends KubeObject>(resource: ResourceRef, options: WatchOptions, handlers: WatchHandlers<T>, signal: AbortSignal): Promise<void>;
  create<T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions): Promise<T>;
  update<T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions): Promise<T>;
  updateStatus<T extends KubeObject>(resource: ResourceRef, object: T, options?: RequestOptions): Promise<T>;
  patch<T extends KubeObject>(resource: ResourceRef, name: string, namespace: string | undefined, patch: unknown, type: PatchType, options?: RequestOptions): Promise<T>;
  delete(resource: ResourceRef, name: string, namespace?: string, options?: DeleteOptions): Promise<void>;
}

export type ApiErrorReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'Gone'
  | 'Forbidden'
  | 'Unauthorized'
  | 'TooManyRequests'
  | 'BadRequest'
  | 'MethodNotAllowed'
  | 'ServerError'
  | 'Timeout'
  | 'Unavailable'
  | 'ConnectionError';

/** One field-level problem of an `Invalid` (422) answer, as in the Status body's `details.causes`. */
export interface ApiErrorCause {
  field?: string;
  reason?: string;
  message: string;
}

/**
 * An API failure. `retryAfterSeconds` is set from `Retry-After` (429/503) so the queue honours it;
 * `status` is the HTTP status, 0 when no answer arrived (ConnectionError).
 */
export class ApiError extends Error {
  constructor(
    readonly reason: ApiErrorReason,
    readonly status: number,
    message: string,
    readonly retryAfterSeconds?: number,
    readonly causes: readonly ApiErrorCause[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isApiError = (error: unknown, reason?: ApiErrorReason): error is ApiError =>
  error instanceof ApiError && (reason === undefined || error.reason === reason);
export const isNotFound = (error: unknown): boolean => isApiError(error, 'NotFound');
export const isAlreadyExists = (error: unknown): boolean => isApiError(error, 'AlreadyExists');
export const isConflict = (error: unknown): boolean => isApiError(error, 'Conflict');
export const isGone = (error: unknown): boolean => isApiError(error, 'Gone');
