// Kubernetes `Status` failures as values: every refusal of the test API server is an ApiError.
import { qualifiedKind, qualifiedResource, type ResourceType } from './types.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toStatus(): Status {
    const status: Status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }
}

type Resource = Pick<ResourceType, 'group' | 'plural'>;

function resourceDetails(rt: Resource, name?: string): StatusDetails {
  const details: StatusDetails = {};
  if (name !== undefined) details.name = name;
  if (rt.group !== '') details.group = rt.group;
  details.kind = rt.plural;
  return details;
}

export function notFound(rt: Resource, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(rt)} "${name}" not found`, resourceDetails(rt, name));
}

export function alreadyExists(rt: Resource, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(rt)} "${name}" already exists`, resourceDetails(rt, name));
}

export function conflict(rt: Resource, name: string, why: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": ${why}`,
    resourceDetails(rt, name),
  );
}

export const MODIFIED_CONFLICT = 'the object has been modified; please apply your changes to the latest version and try again';

/** Cause reasons the server derives from field error types. */
function causeReason(message: string): string {
  if (message.startsWith('Required value')) return 'FieldValueRequired';
  if (message.startsWith('Unsupported value')) return 'FieldValueNotSupported';
  if (message.startsWith('Duplicate value')) return 'FieldValueDuplicate';
  if (message.startsWith('Too long')) return 'FieldValueTooLong';
  if (message.startsWith('Too many')) return 'FieldValueTooMany';
  if (message.startsWith('Forbidden')) return 'FieldValueForbidden';
  if (message.startsWith('field not declared')) return 'FieldValueInvalid';
  return 'FieldValueInvalid';
}

export interface FieldError {
  path: string;
  message: string;
}

export function invalid(rt: Pick<ResourceType, 'group' | 'kind'>, name: string, errors: FieldError[]): ApiError {
  // Go prints the root field path (a nil *field.Path) as "<nil>".
  const parts = errors.map((e) => `${e.path === '' ? '<nil>' : e.path}: ${e.message}`);
  const list = parts.length === 1 ? parts[0]! : `[${parts.join(', ')}]`;
  const details: StatusDetails = { name };
  if (rt.group !== '') details.group = rt.group;
  details.kind = rt.kind;
  details.causes = errors.map((e) => ({ reason: causeReason(e.message), message: e.message, field: e.path }));
  return new ApiError(422, 'Invalid', `${qualifiedKind(rt)} "${name}" is invalid: ${list}`, details);
}

export function forbidden(rt: Resource, name: string | undefined, why: string): ApiError {
  const subject = name === undefined || name === '' ? qualifiedResource(rt) : `${qualifiedResource(rt)} "${name}"`;
  return new ApiError(403, 'Forbidden', `${subject} is forbidden: ${why}`, resourceDetails(rt, name || undefined));
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(): ApiError {
  return new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

export function unsupportedMediaType(accepted: string[]): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
  );
}

export function notAcceptable(): ApiError {
  return new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}

export function expired(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function tooManyRequests(retryAfterSeconds: number): ApiError {
  return new ApiError(
    429,
    'TooManyRequests',
    'Too many requests, please try again later.',
    { retryAfterSeconds },
    { 'Retry-After': String(retryAfterSeconds) },
  );
}

export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function serviceUnavailable(message = 'the server is currently unable to handle the request'): ApiError {
  return new ApiError(503, 'ServiceUnavailable', message);
}

export function unauthorized(): ApiError {
  return new ApiError(401, 'Unauthorized', 'Unauthorized');
}

export function pathNotFound(): ApiError {
  return new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
}
