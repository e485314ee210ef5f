// Turns what the API server (or the network) answered into a one-line, typed ApiError that names
// the verb, the resource and the object, so logs and the work queue can act on it.

import { ApiError, type ApiErrorCause, type ApiErrorReason } from './api.js';
import type { ResourceRef } from './resources.js';
import { isRecord } from './types.js';

/** What a request was about: the words an error message starts with. */
export interface CallTarget {
  verb: string;
  resource: ResourceRef;
  /** `status` for writes to the status subresource. */
  subresource?: string;
  namespace?: string;
  name?: string;
}

/** `create ciliumnetworkpolicies shop/profile-standard`, `update networkprofiles/status standard`, `list namespaces`, `watch configmaps in ops`. */
export function describeCall({ verb, resource, subresource, namespace, name }: CallTarget): string {
  const what = subresource !== undefined ? `${resource.plural}/${subresource}` : resource.plural;
  const scoped = resource.namespaced ? namespace : undefined;
  if (name !== undefined) return `${verb} ${what} ${scoped !== undefined ? `${scoped}/${name}` : name}`;
  return scoped !== undefined ? `${verb} ${what} in ${scoped}` : `${verb} ${what}`;
}

/** The fields of a `metav1.Status` we use; anything may be missing in a body we did not write. */
interface StatusBody {
  kind?: unknown;
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { retryAfterSeconds?: unknown; causes?: unknown };
}

/** The API's reason decides where the code is ambiguous (409, 500 vs ServerTimeout); otherwise the code. */
export function reasonFor(code: number, statusReason: string | undefined): ApiErrorReason {
  if (statusReason === 'Timeout' || statusReason === 'ServerTimeout') return 'Timeout';
  switch (code) {
    case 400:
      return 'BadRequest';
    case 401:
      return 'Unauthorized';
    case 403:
      return 'Forbidden';
    case 404:
      return 'NotFound';
    case 405:
      return 'MethodNotAllowed';
    case 409:
      return statusReason === 'AlreadyExists' ? 'AlreadyExists' : 'Conflict';
    case 410:
      return 'Gone';
    case 422:
      return 'Invalid';
    case 429:
      return 'TooManyRequests';
    case 503:
      return 'Unavailable';
    case 504:
      return 'Timeout';
  }
  return code >= 500 ? 'ServerError' : 'BadRequest';
}

/** `Retry-After` is delta-seconds or an HTTP date; anything else is ignored. */
export function parseRetryAfter(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

const oneLine = (text: string): string => text.replace(/\s*[\r\n]+\s*/g, ' ').trim();

function causesOf(details: StatusBody['details']): ApiErrorCause[] {
  if (!details || !Array.isArray(details.causes)) return [];
  return details.causes.filter(isRecord).map((c) => {
    const cause: ApiErrorCause = { message: typeof c.message === 'string' ? c.message : '' };
    if (typeof c.field === 'string') cause.field = c.field;
    if (typeof c.reason === 'string') cause.reason = c.reason;
    return cause;
  });
}

function fromStatus(target: CallTarget, code: number, status: StatusBody | undefined, fallbackText: string, retryAfterHeader?: string): ApiError {
  const statusReason = typeof status?.reason === 'string' && status.reason !== '' ? status.reason : undefined;
  const reason = reasonFor(code, statusReason);
  const serverMessage = typeof status?.message === 'string' && status.message !== '' ? status.message : fallbackText;
  const detailRetry = status?.details?.retryAfterSeconds;
  const retryAfterSeconds =
    reason === 'TooManyRequests' || reason === 'Unavailable'
      ? (parseRetryAfter(retryAfterHeader) ?? (typeof detailRetry === 'number' && detailRetry > 0 ? detailRetry : undefined))
      : undefined;
  const retryNote = retryAfterSeconds !== undefined ? ` (retry after ${retryAfterSeconds}s)` : '';
  const text = oneLine(serverMessage) || `HTTP ${code}`;
  return new ApiError(reason, code, `${describeCall(target)}: ${code} ${reason}${retryNote}: ${text}`, retryAfterSeconds, causesOf(status?.details));
}

/** A non-2xx answer: its Status body when it has one, else the code and the start of the body. */
export function errorFromResponse(target: CallTarget, code: number, body: string, retryAfterHeader?: string): ApiError {
  let status: StatusBody | undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (isRecord(parsed) && parsed.kind === 'Status') status = parsed as StatusBody;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): the code alone decides.
  }
  return fromStatus(target, code, status, body.slice(0, 200), retryAfterHeader);
}

/** A watch `ERROR` event: its object is a Status whose `code` stands in for the HTTP status. */
export function errorFromWatchStatus(target: CallTarget, object: unknown): ApiError {
  const status = isRecord(object) ? (object as StatusBody) : undefined;
  const code = typeof status?.code === 'number' ? status.code : 500;
  return fromStatus(target, code, status, 'watch ERROR event');
}

/** No usable answer: refused, reset, DNS, TLS, or the client-side deadline. */
export function connectionError(target: CallTarget, cause: unknown): ApiError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new ApiError('ConnectionError', 0, `${describeCall(target)}: connection failed: ${oneLine(detail)}`);
}

/** The client-side deadline passed before the whole answer arrived. */
export function noAnswerError(target: CallTarget, timeoutMs: number): ApiError {
  return new ApiError('ConnectionError', 0, `${describeCall(target)}: no answer within ${timeoutMs / 1000}s`);
}

/** A 2xx answer we cannot read (not JSON, not the expected shape). */
export function malformedAnswer(target: CallTarget, code: number, why: string): ApiError {
  return new ApiError('ServerError', code, `${describeCall(target)}: ${why}`);
}
