// Optional RBAC: bearer tokens name users, ClusterRoles/Roles and their bindings (stored objects)
// decide, with the real authorizer's rule matching and 403 wording.
import { randomBytes } from 'node:crypto';
import { ApiError, forbidden, unauthorized } from './errors.js';
import type { RequestInfo, UserInfo } from './requestlog.js';
import type { ObjectStore } from './store.js';
import { isRecord, type KubeObject } from './types.js';

export const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
export const ADMIN_USER: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

/** The user a ServiceAccount authenticates as. */
export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    name: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/** Paths every authenticated user may read (system:discovery, system:public-info-viewer). */
const DISCOVERY_PATHS = [/^\/api(\/.*)?$/, /^\/apis(\/.*)?$/, /^\/version\/?$/, /^\/openapi(\/.*)?$/, /^\/healthz/, /^\/livez/, /^\/readyz/];

export class Authorizer {
  enabled = false;
  private readonly tokens = new Map<string, UserInfo>();

  constructor(private readonly store: ObjectStore) {}

  /** Registers `token` for `user`; returns the token (a random one when not given). */
  addToken(user: UserInfo, token = randomBytes(16).toString('hex')): string {
    this.tokens.set(token, user);
    return token;
  }

  /** Who the request's bearer token belongs to; 401 for unknown tokens. */
  authenticate(authorization: string | undefined): UserInfo {
    if (!authorization) return ANONYMOUS;
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    const user = m ? this.tokens.get(m[1]!) : undefined;
    if (!user) throw unauthorized();
    return user;
  }

  /** Throws 403 Forbidden unless RBAC is off or a binding grants the request. */
  authorize(user: UserInfo, info: RequestInfo): void {
    if (this.allows(user, info)) return;
    throw info.isResourceRequest ? this.denial(user, info) : forbiddenNonResource(user, info);
  }

  /** The decision alone (also behind SelfSubjectAccessReview / SubjectAccessReview). */
  allows(user: UserInfo, info: RequestInfo): boolean {
    if (!this.enabled) return true;
    if (user.groups.includes('system:masters')) return true;
    if (!info.isResourceRequest) {
      if (user !== ANONYMOUS && user.groups.includes('system:authenticated') && DISCOVERY_PATHS.some((re) => re.test(info.path))) return true;
      return this.rulesFor(user, undefined).some((r) => nonResourceAllows(r, info));
    }
    // system:basic-user, bound to every authenticated user: "what may I do?" reviews.
    if (
      user.groups.includes('system:authenticated') &&
      info.group === 'authorization.k8s.io' &&
      info.verb === 'create' &&
      (info.resource === 'selfsubjectaccessreviews' || info.resource === 'selfsubjectrulesreviews')
    ) {
      return true;
    }
    return this.rulesFor(user, info.namespace).some((r) => resourceAllows(r, info));
  }

  /**
   * `Impersonate-User`/`Impersonate-Group` headers (kubectl --as/--as-group): allowed when the
   * requester may `impersonate` the user (or ServiceAccount) and each group.
   */
  impersonate(requester: UserInfo, userName: string, groups: string[]): UserInfo {
    const sa = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(userName);
    const checks: RequestInfo[] = [
      sa
        ? impersonation('serviceaccounts', sa[2]!, sa[1])
        : impersonation('users', userName, undefined),
      ...groups.map((g) => impersonation('groups', g, undefined)),
    ];
    for (const check of checks) if (!this.allows(requester, check)) throw this.denial(requester, check);
    if (sa) {
      const base = serviceAccountUser(sa[1]!, sa[2]!);
      return { name: base.name, groups: [...new Set([...groups, ...base.groups])] };
    }
    return { name: userName, groups: [...new Set([...groups, 'system:authenticated'])] };
  }

  private denial(user: UserInfo, info: RequestInfo): ApiError {
    const res = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
    const scope = info.namespace ? `in the namespace "${info.namespace}"` : 'at the cluster scope';
    return forbidden(
      { group: info.group, plural: info.resource },
      info.name,
      `User "${user.name}" cannot ${info.verb} resource "${res}" in API group "${info.group}" ${scope}`,
    );
  }

  /** Rules granted to `user` cluster-wide plus, when `namespace` is set, in that namespace. */
  rulesFor(user: UserInfo, namespace: string | undefined): PolicyRule[] {
    const rules: PolicyRule[] = [];
    for (const crb of this.store.list('rbac.authorization.k8s.io/clusterrolebindings')) {
      if (!bindsUser(crb, user, undefined)) continue;
      rules.push(...this.roleRules(crb, undefined));
    }
    if (namespace !== undefined) {
      for (const rb of this.store.list('rbac.authorization.k8s.io/rolebindings', namespace)) {
        if (!bindsUser(rb, user, namespace)) continue;
        rules.push(...this.roleRules(rb, namespace));
      }
    }
    return rules;
  }

  private roleRules(binding: KubeObject, namespace: string | undefined): PolicyRule[] {
    const ref = isRecord(binding.roleRef) ? binding.roleRef : {};
    const name = typeof ref.name === 'string' ? ref.name : '';
    const role =
      ref.kind === 'ClusterRole'
        ? this.store.get('rbac.authorization.k8s.io/clusterroles', name)
        : namespace !== undefined
          ? this.store.get('rbac.authorization.k8s.io/roles', `${namespace}/${name}`)
          : undefined;
    return role && Array.isArray(role.rules) ? (role.rules as PolicyRule[]) : [];
  }
}

function impersonation(resource: string, name: string, namespace: string | undefined): RequestInfo {
  const info: RequestInfo = { method: 'POST', path: '', isResourceRequest: true, verb: 'impersonate', group: '', version: 'v1', resource, name };
  if (namespace !== undefined) info.namespace = namespace;
  return info;
}

function bindsUser(binding: KubeObject, user: UserInfo, namespace: string | undefined): boolean {
  const subjects = Array.isArray(binding.subjects) ? (binding.subjects as Subject[]) : [];
  return subjects.some((s) => {
    if (s.kind === 'User') return s.name === user.name;
    if (s.kind === 'Group') return s.name !== undefined && user.groups.includes(s.name);
    if (s.kind === 'ServiceAccount') return `system:serviceaccount:${s.namespace ?? namespace ?? ''}:${s.name ?? ''}` === user.name;
    return false;
  });
}

function has(list: string[] | undefined, value: string): boolean {
  return !!list && (list.includes('*') || list.includes(value));
}

function resourceAllows(rule: PolicyRule, info: RequestInfo): boolean {
  if (!has(rule.verbs, info.verb)) return false;
  if (!has(rule.apiGroups, info.group)) return false;
  const resources = rule.resources ?? [];
  const combined = info.subresource ? `${info.resource}/${info.subresource}` : info.resource;
  const resourceOk =
    resources.includes('*') || resources.includes(combined) || (info.subresource !== undefined && resources.includes(`*/${info.subresource}`));
  if (!resourceOk) return false;
  const names = rule.resourceNames ?? [];
  if (names.length === 0) return true;
  return info.name !== undefined && names.includes(info.name);
}

function nonResourceAllows(rule: PolicyRule, info: RequestInfo): boolean {
  if (!has(rule.verbs, info.verb)) return false;
  return (rule.nonResourceURLs ?? []).some((u) => u === '*' || u === info.path || (u.endsWith('*') && info.path.startsWith(u.slice(0, -1))));
}

function forbiddenNonResource(user: UserInfo, info: RequestInfo): ApiError {
  return new ApiError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${info.verb} path "${info.path}"`, {});
}
