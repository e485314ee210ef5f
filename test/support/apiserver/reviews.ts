// SelfSubjectAccessReview and SubjectAccessReview (`kubectl auth can-i`): answered by the
// authorizer, never stored.
import { badRequest } from './errors.js';
import type { Authorizer } from './rbac.js';
import type { RequestInfo, UserInfo } from './requestlog.js';
import { isRecord, type ResourceType } from './types.js';

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** The review with its `status` filled in, for `requester` (self reviews) or the spec's subject. */
export function answerAccessReview(rt: ResourceType, body: unknown, requester: UserInfo, authorizer: Authorizer): Record<string, unknown> {
  if (!isRecord(body) || !isRecord(body.spec)) throw badRequest(`${rt.kind} in version "v1" cannot be handled as a ${rt.kind}: spec is required`);
  const spec = body.spec;
  const subject: UserInfo =
    rt.accessReview === 'self'
      ? requester
      : { name: str(spec.user), groups: Array.isArray(spec.groups) ? spec.groups.filter((g): g is string => typeof g === 'string') : [] };
  let info: RequestInfo;
  if (isRecord(spec.resourceAttributes)) {
    const a = spec.resourceAttributes;
    info = { method: 'POST', path: '', isResourceRequest: true, verb: str(a.verb), group: str(a.group), version: str(a.version), resource: str(a.resource) };
    if (str(a.subresource)) info.subresource = str(a.subresource);
    if (str(a.namespace)) info.namespace = str(a.namespace);
    if (str(a.name)) info.name = str(a.name);
  } else if (isRecord(spec.nonResourceAttributes)) {
    const a = spec.nonResourceAttributes;
    info = { method: 'GET', path: str(a.path), isResourceRequest: false, verb: str(a.verb), group: '', version: '', resource: '' };
  } else {
    throw badRequest('spec.resourceAttributes or spec.nonResourceAttributes is required');
  }
  const allowed = authorizer.allows(subject, info);
  const status: Record<string, unknown> = { allowed };
  if (allowed && authorizer.enabled) status.reason = 'RBAC: allowed by a binding';
  return { apiVersion: 'authorization.k8s.io/v1', kind: rt.kind, metadata: { creationTimestamp: null }, spec, status };
}
