// ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1): the stored policies and bindings
// evaluated on every write, after schema validation and before storage, as the real API server
// does it: matchConstraints and binding matchResources (resource rules, namespace and object
// selectors), params (paramKind/paramRef), matchConditions, variables, validations with
// message/messageExpression/reason, failurePolicy, and the binding's Deny/Warn/Audit actions,
// with the server's wording of denials and warnings. CEL is test/support/cel.ts.
import { randomUUID } from 'node:crypto';
import { AdmissionContext, CelCompileError, compileAdmissionExpression, type AdmissionProgram, type AuthorizeFn } from '../cel.js';
import { ApiError } from './errors.js';
import type { UserInfo } from './requestlog.js';
import type { ResourceCatalog } from './resources.js';
import { labelSelectorMatcher } from './selectors.js';
import { objectKey, type ObjectStore } from './store.js';
import { qualifiedResource, type KubeObject, type ResourceType } from './types.js';

export const POLICY_STORAGE = 'admissionregistration.k8s.io/validatingadmissionpolicies';
export const BINDING_STORAGE = 'admissionregistration.k8s.io/validatingadmissionpolicybindings';
const NAMESPACE_STORAGE = '/namespaces';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

/** One write as admission sees it. `object` is null for DELETE, `oldObject` for CREATE. */
export interface AdmissionAttributes {
  operation: AdmissionOperation;
  user: UserInfo;
  rt: ResourceType;
  subresource?: string;
  namespace?: string;
  name: string;
  object: KubeObject | null;
  oldObject: KubeObject | null;
  dryRun: boolean;
}

/** What a binding with the `Audit` action records (the real server writes it to the audit log). */
export interface AuditRecord {
  policy: string;
  binding: string;
  message: string;
  expressionIndex: number;
  validationActions: string[];
  operation: AdmissionOperation;
  resource: string;
  namespace?: string;
  name: string;
  user: string;
}

// ---------------------------------------------------------------------------------------------
// The API shapes (what the stored objects hold; validation of their fields is in builtins.ts).

interface RuleWithOperations {
  operations?: string[];
  apiGroups?: string[];
  apiVersions?: string[];
  resources?: string[];
  resourceNames?: string[];
  scope?: string;
}

interface MatchResources {
  namespaceSelector?: unknown;
  objectSelector?: unknown;
  resourceRules?: RuleWithOperations[];
  excludeResourceRules?: RuleWithOperations[];
}

interface PolicySpec {
  paramKind?: { apiVersion?: string; kind?: string };
  matchConstraints?: MatchResources;
  validations?: { expression: string; message?: string; messageExpression?: string; reason?: string }[];
  failurePolicy?: string;
  matchConditions?: { name: string; expression: string }[];
  variables?: { name: string; expression: string }[];
}

interface BindingSpec {
  policyName?: string;
  paramRef?: { name?: string; namespace?: string; selector?: unknown; parameterNotFoundAction?: string };
  matchResources?: MatchResources;
  validationActions?: string[];
}

// ---------------------------------------------------------------------------------------------
// Compilation, cached per policy resourceVersion.

type Compiled<T> = T | CelCompileError;

interface CompiledValidation {
  expression: string;
  program: Compiled<AdmissionProgram>;
  message?: string;
  messageProgram?: Compiled<AdmissionProgram>;
  reason?: string;
}

interface CompiledPolicy {
  resourceVersion: string;
  variables: { name: string; program: Compiled<AdmissionProgram> }[];
  matchConditions: { name: string; expression: string; program: Compiled<AdmissionProgram> }[];
  validations: CompiledValidation[];
}

function compileOrError(expression: string, result: 'bool' | 'string' | 'any'): Compiled<AdmissionProgram> {
  try {
    return compileAdmissionExpression(expression, result);
  } catch (e) {
    return e instanceof CelCompileError ? e : new CelCompileError(String(e));
  }
}

function compilePolicy(policy: KubeObject): CompiledPolicy {
  const spec = (policy.spec ?? {}) as PolicySpec;
  return {
    resourceVersion: policy.metadata.resourceVersion ?? '',
    variables: (spec.variables ?? []).map((v) => ({ name: v.name, program: compileOrError(v.expression, 'any') })),
    matchConditions: (spec.matchConditions ?? []).map((c) => ({ name: c.name, expression: c.expression, program: compileOrError(c.expression, 'bool') })),
    validations: (spec.validations ?? []).map((v) => {
      const out: CompiledValidation = { expression: v.expression, program: compileOrError(v.expression, 'bool') };
      if (v.message !== undefined) out.message = v.message;
      if (v.messageExpression) out.messageProgram = compileOrError(v.messageExpression, 'string');
      if (v.reason !== undefined) out.reason = v.reason;
      return out;
    }),
  };
}

/** Checks one expression the way the API server does when a policy is written (422 on failure). */
export function expressionProblem(expression: unknown, result: 'bool' | 'string' | 'any'): string | undefined {
  if (typeof expression !== 'string' || expression.trim() === '') return 'Required value';
  const compiled = compileOrError(expression, result);
  return compiled instanceof CelCompileError ? `Invalid value: ${JSON.stringify(expression)}: compilation failed: ${compiled.message}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Matching.

const OPERATION_ALL = '*';

function ruleMatches(rule: RuleWithOperations, attrs: AdmissionAttributes): boolean {
  const has = (list: string[] | undefined, value: string) => (list ?? []).some((v) => v === '*' || v === value);
  if (!(rule.operations ?? []).some((op) => op === OPERATION_ALL || op === attrs.operation)) return false;
  if (!has(rule.apiGroups, attrs.rt.group) || !has(rule.apiVersions, attrs.rt.version)) return false;
  const sub = attrs.subresource ?? '';
  const resourceOk = (rule.resources ?? []).some((r) => {
    if (r === '*/*') return true;
    const [res, rsub] = r.split('/', 2) as [string, string | undefined];
    const resMatches = res === '*' || res === attrs.rt.plural;
    if (!resMatches) return false;
    if (rsub === undefined) return sub === '';
    return rsub === '*' || rsub === sub;
  });
  if (!resourceOk) return false;
  const scope = rule.scope ?? '*';
  if (scope === 'Cluster' && attrs.rt.namespaced) return false;
  if (scope === 'Namespaced' && !attrs.rt.namespaced) return false;
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(attrs.name);
}

function labelsOf(obj: KubeObject | null | undefined): Record<string, string> | undefined {
  return obj?.metadata?.labels;
}

export class AdmissionController {
  /** What `Audit` bindings recorded, oldest first. */
  readonly audit: AuditRecord[] = [];
  private readonly compiled = new Map<string, CompiledPolicy>();

  constructor(
    private readonly store: ObjectStore,
    private readonly catalog: ResourceCatalog,
    /** RBAC's answer for the `authorizer` variable (the query names its user). */
    private readonly authorize: AuthorizeFn,
  ) {}

  private compiledPolicy(policy: KubeObject): CompiledPolicy {
    const key = policy.metadata.uid ?? policy.metadata.name!;
    let c = this.compiled.get(key);
    if (!c || c.resourceVersion !== policy.metadata.resourceVersion) {
      c = compilePolicy(policy);
      this.compiled.set(key, c);
    }
    return c;
  }

  private namespaceLabels(attrs: AdmissionAttributes): Record<string, string> | undefined | null {
    if (attrs.rt.group === '' && attrs.rt.plural === 'namespaces') return labelsOf(attrs.object ?? attrs.oldObject) ?? {};
    if (!attrs.rt.namespaced || !attrs.namespace) return null;
    return this.store.get(NAMESPACE_STORAGE, attrs.namespace)?.metadata.labels ?? {};
  }

  private matches(criteria: MatchResources | undefined, attrs: AdmissionAttributes, emptyRulesMatchAll: boolean): boolean {
    if (!criteria) return emptyRulesMatchAll;
    const nsLabels = this.namespaceLabels(attrs);
    // Cluster-scoped objects other than Namespaces are never excluded by a namespace selector.
    if (nsLabels !== null && !labelSelectorMatcher(criteria.namespaceSelector)(nsLabels)) return false;
    const objectSelector = labelSelectorMatcher(criteria.objectSelector);
    const objectMatches =
      criteria.objectSelector === undefined ||
      (attrs.object !== null && objectSelector(labelsOf(attrs.object) ?? {})) ||
      (attrs.oldObject !== null && objectSelector(labelsOf(attrs.oldObject) ?? {}));
    if (!objectMatches) return false;
    if ((criteria.excludeResourceRules ?? []).some((r) => ruleMatches(r, attrs))) return false;
    const rules = criteria.resourceRules ?? [];
    if (rules.length === 0) return emptyRulesMatchAll;
    return rules.some((r) => ruleMatches(r, attrs));
  }

  /** The param objects a binding names, or an error message (a configuration error). */
  private params(spec: PolicySpec, binding: BindingSpec, attrs: AdmissionAttributes): { params: (KubeObject | null)[] } | { error: string } {
    const kind = spec.paramKind;
    const ref = binding.paramRef;
    if (!kind || !ref) return { params: [null] };
    const apiVersion = kind.apiVersion ?? '';
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/', 2) as [string, string]) : ['', apiVersion];
    const rt = this.catalog.resourcesOf(group, version).find((t) => t.kind === kind.kind && !t.conversion);
    if (!rt) return { error: `paramKind kind \`${kind.kind ?? ''}.${apiVersion}\` not known` };
    let namespace: string | undefined;
    if (rt.namespaced) {
      namespace = ref.namespace || attrs.namespace;
      if (!namespace) return { error: 'cannot use namespaced paramRef in policy binding that matches cluster-scoped resources' };
    } else if (ref.namespace) {
      return { error: 'paramRef.namespace must not be provided for a cluster-scoped `paramKind`' };
    }
    let params: KubeObject[];
    if (ref.name) {
      const found = this.store.get(rt.storageKey, objectKey(namespace, ref.name));
      params = found ? [found] : [];
    } else if (ref.selector !== undefined) {
      const selector = labelSelectorMatcher(ref.selector);
      params = this.store.list(rt.storageKey, namespace).filter((o) => selector(o.metadata.labels));
    } else {
      return { error: 'one of name or selector must be provided' };
    }
    if (params.length === 0 && ref.parameterNotFoundAction === 'Deny') return { error: 'no params found for policy binding with `Deny` parameterNotFoundAction' };
    return { params: params.map((p) => withTypeMeta(rt, p)) };
  }

  /**
   * Runs every bound policy against a write. Returns the warnings of `Warn` bindings; throws the
   * first denial as the API server words it (422 Invalid unless the validation names a reason).
   */
  validate(attrs: AdmissionAttributes): string[] {
    if (this.store.count(BINDING_STORAGE) === 0) return [];
    const policies = this.store.list(POLICY_STORAGE);
    if (policies.length === 0) return [];
    const bindings = this.store.list(BINDING_STORAGE);
    const warnings: string[] = [];
    const denials: { policy: string; binding?: string; message: string; reason?: string }[] = [];
    const request = admissionRequest(attrs);
    const namespaceObject = attrs.rt.namespaced && attrs.namespace ? namespaceForCel(this.store.get(NAMESPACE_STORAGE, attrs.namespace)) : null;

    for (const policy of policies) {
      const spec = (policy.spec ?? {}) as PolicySpec;
      const policyName = policy.metadata.name!;
      if (!this.matches(spec.matchConstraints, attrs, false)) continue;
      const failClosed = (spec.failurePolicy ?? 'Fail') !== 'Ignore';
      const compiled = this.compiledPolicy(policy);
      for (const binding of bindings) {
        const bspec = (binding.spec ?? {}) as BindingSpec;
        if (bspec.policyName !== policyName) continue;
        const bindingName = binding.metadata.name!;
        if (!this.matches(bspec.matchResources, attrs, true)) continue;
        const collected = this.params(spec, bspec, attrs);
        if ('error' in collected) {
          if (failClosed) denials.push({ policy: policyName, binding: bindingName, message: `failed to configure binding: ${collected.error}` });
          continue;
        }
        for (const params of collected.params) {
          const context = new AdmissionContext({
            object: attrs.object,
            oldObject: attrs.oldObject,
            request,
            params,
            namespaceObject,
            user: { name: attrs.user.name, groups: attrs.user.groups },
            authorize: this.authorize,
            requestResource: { group: attrs.rt.group, resource: attrs.rt.plural, subresource: attrs.subresource ?? '', namespace: attrs.namespace ?? '', name: attrs.name },
          });
          for (const v of compiled.variables) context.defineVariable(v.name, v.program);
          const decisions = evaluate(compiled, context, failClosed);
          decisions.forEach((d) => {
            for (const action of bspec.validationActions ?? []) {
              if (action === 'Deny') denials.push({ policy: policyName, binding: bindingName, message: d.message, ...(d.reason ? { reason: d.reason } : {}) });
              else if (action === 'Warn') warnings.push(`Validation failed for ValidatingAdmissionPolicy '${policyName}' with binding '${bindingName}': ${d.message}`);
              else if (action === 'Audit') {
                this.audit.push({
                  policy: policyName,
                  binding: bindingName,
                  message: d.message,
                  expressionIndex: d.index,
                  validationActions: [...(bspec.validationActions ?? [])],
                  operation: attrs.operation,
                  resource: qualifiedResource(attrs.rt),
                  ...(attrs.namespace ? { namespace: attrs.namespace } : {}),
                  name: attrs.name,
                  user: attrs.user.name,
                });
              }
            }
          });
        }
      }
    }
    const first = denials[0];
    if (!first) return warnings;
    const message = first.binding
      ? `ValidatingAdmissionPolicy '${first.policy}' with binding '${first.binding}' denied request: ${first.message}`
      : `ValidatingAdmissionPolicy '${first.policy}' denied request: ${first.message}`;
    throw admissionDenied(attrs, message, first.reason);
  }
}

interface Decision {
  index: number;
  message: string;
  reason?: string;
}

/** One policy-binding-param evaluation: the denials (failed validations, and errors when failing closed). */
function evaluate(compiled: CompiledPolicy, context: AdmissionContext, failClosed: boolean): Decision[] {
  const errors: string[] = [];
  for (const condition of compiled.matchConditions) {
    const result = run(condition.program, context, condition.expression);
    if ('error' in result) errors.push(result.error);
    else if (result.value === false) return [];
  }
  if (errors.length > 0) return failClosed ? [{ index: -1, message: errors.length === 1 ? errors[0]! : `[${errors.join(', ')}]` }] : [];
  const decisions: Decision[] = [];
  compiled.validations.forEach((v, index) => {
    const result = run(v.program, context, v.expression);
    if ('error' in result) {
      if (failClosed) decisions.push({ index, message: result.error });
      return;
    }
    if (result.value === true) return;
    let message = '';
    if (v.messageProgram && !(v.messageProgram instanceof CelCompileError)) {
      try {
        const text = v.messageProgram(context);
        if (typeof text === 'string' && !text.includes('\n') && text.trim().length <= 5120) message = text.trim();
      } catch {
        // The server falls back to `message` when messageExpression fails.
      }
    }
    if (message === '' && v.message) message = v.message.trim();
    if (message === '') message = `failed expression: ${v.expression.trim()}`;
    decisions.push({ index, message, ...(v.reason ? { reason: v.reason } : {}) });
  });
  return decisions;
}

function run(program: Compiled<AdmissionProgram>, context: AdmissionContext, expression: string): { value: unknown } | { error: string } {
  if (program instanceof CelCompileError) return { error: `compilation error: ${program.message}` };
  try {
    return { value: program(context) };
  } catch (e) {
    return { error: `expression '${expression}' resulted in error: ${e instanceof Error ? e.message : String(e)}` };
  }
}

const REASON_CODES: Record<string, number> = { Forbidden: 403, Unauthorized: 401, RequestEntityTooLarge: 413, Invalid: 422 };

/** The real server's denial: NewForbidden's message, then the validation's reason and code. */
function admissionDenied(attrs: AdmissionAttributes, message: string, reason = 'Invalid'): ApiError {
  const name = attrs.name || (attrs.object?.metadata.generateName ?? 'Unknown');
  const details: { name: string; group?: string; kind: string; causes: { message: string }[] } = { name, kind: attrs.rt.plural, causes: [{ message }] };
  if (attrs.rt.group !== '') details.group = attrs.rt.group;
  return new ApiError(REASON_CODES[reason] ?? 422, reason, `${qualifiedResource(attrs.rt)} "${name}" is forbidden: ${message}`, details);
}

function withTypeMeta(rt: ResourceType, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: rt.group === '' ? rt.version : `${rt.group}/${rt.version}`, kind: rt.kind };
}

/** `namespaceObject`: the namespace's metadata (selected fields), spec and status. */
function namespaceForCel(ns: KubeObject | undefined): KubeObject | null {
  if (!ns) return null;
  const m = ns.metadata;
  const metadata: Record<string, unknown> = {};
  for (const key of ['name', 'generateName', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'finalizers']) {
    if (m[key] !== undefined) metadata[key] = m[key];
  }
  const out: KubeObject = { metadata };
  if (ns.spec !== undefined) out.spec = ns.spec;
  if (ns.status !== undefined) out.status = ns.status;
  return out;
}

/** `request`: an admission.k8s.io/v1 AdmissionRequest without the objects, empty fields omitted. */
function admissionRequest(attrs: AdmissionAttributes): Record<string, unknown> {
  const { rt } = attrs;
  const kind = { group: rt.group, version: rt.version, kind: rt.kind };
  const resource = { group: rt.group, version: rt.version, resource: rt.plural };
  const userInfo: Record<string, unknown> = { username: attrs.user.name };
  if (attrs.user.groups.length > 0) userInfo.groups = [...attrs.user.groups];
  const options = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions' }[attrs.operation];
  const request: Record<string, unknown> = {
    uid: randomUUID(),
    kind,
    resource,
    requestKind: kind,
    requestResource: resource,
    operation: attrs.operation,
    userInfo,
    dryRun: attrs.dryRun,
    options: { kind: options, apiVersion: 'meta.k8s.io/v1' },
  };
  if (attrs.subresource) {
    request.subResource = attrs.subresource;
    request.requestSubResource = attrs.subresource;
  }
  if (attrs.name) request.name = attrs.name;
  if (attrs.namespace) request.namespace = attrs.namespace;
  return request;
}
