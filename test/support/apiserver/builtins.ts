// The built-in kinds the test API server stores (no controllers behind them): their schemas
// (types only, for pruning and decode errors), extra validation, timestamps and table columns.
import type { JsonSchema } from '../../../src/kube/openapi.js';
import { expressionProblem } from './admission.js';
import { badRequest, type FieldError } from './errors.js';
import { AGE_COLUMN, NAME_COLUMN, ageOf } from './table.js';
import { isRecord, type KubeObject, type ResourceType, type StorageConversion, type TableColumn } from './types.js';

const str: JsonSchema = { type: 'string' };
const int: JsonSchema = { type: 'integer' };
const bool: JsonSchema = { type: 'boolean' };
const strList: JsonSchema = { type: 'array', items: str };
const strMap: JsonSchema = { type: 'object', additionalProperties: str };
const anyObject: JsonSchema = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function root(properties: Record<string, JsonSchema>): JsonSchema {
  return {
    type: 'object',
    properties: { apiVersion: str, kind: str, metadata: { type: 'object' }, ...properties },
  };
}

const objectReference: JsonSchema = {
  type: 'object',
  properties: {
    kind: str,
    namespace: str,
    name: str,
    uid: str,
    apiVersion: str,
    resourceVersion: str,
    fieldPath: str,
  },
};

const condition: JsonSchema = {
  type: 'object',
  properties: { type: str, status: str, lastTransitionTime: str, reason: str, message: str, observedGeneration: int },
};

const policyRule: JsonSchema = {
  type: 'object',
  properties: { verbs: strList, apiGroups: strList, resources: strList, resourceNames: strList, nonResourceURLs: strList },
};

const roleRef: JsonSchema = { type: 'object', properties: { apiGroup: str, kind: str, name: str } };
const subjects: JsonSchema = {
  type: 'array',
  items: { type: 'object', properties: { kind: str, apiGroup: str, name: str, namespace: str } },
};

const eventSeries: JsonSchema = { type: 'object', properties: { count: int, lastObservedTime: str } };

// ---------------------------------------------------------------------------------------------
// Timestamps: the real server re-serialises metav1.Time at second and MicroTime at microsecond precision.

const RFC3339 = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

export function formatTime(ms: number, micro: boolean, fraction = ''): string {
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  if (!micro) return `${base}Z`;
  const digits = (fraction || iso.slice(20, 23)).padEnd(6, '0').slice(0, 6);
  return `${base}.${digits}Z`;
}

function normalizeTime(value: unknown, micro: boolean, kind: string, field: string): string | null | undefined {
  if (value === undefined || value === null) return value;
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[4]!.toUpperCase()}`) : NaN;
  if (!m || Number.isNaN(ms)) {
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${kind}: parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05Z07:00" (field ${field}): cannot parse`,
    );
  }
  return formatTime(ms, micro, m[3] ?? '');
}

type TimePath = { path: string[]; micro: boolean };

function timeNormalizer(kind: string, paths: TimePath[]): (obj: KubeObject) => void {
  return (obj) => {
    for (const { path, micro } of paths) visitTime(obj, path, 0, micro, kind, path.join('.'));
  };
}

function visitTime(node: unknown, path: string[], i: number, micro: boolean, kind: string, field: string): void {
  const key = path[i]!;
  if (key === '*') {
    if (Array.isArray(node)) for (const item of node) visitTime(item, path, i + 1, micro, kind, field);
    return;
  }
  if (!isRecord(node) || !(key in node)) return;
  if (i === path.length - 1) {
    const v = normalizeTime(node[key], micro, kind, field);
    if (v === undefined) delete node[key];
    else node[key] = v;
  } else {
    visitTime(node[key], path, i + 1, micro, kind, field);
  }
}

// ---------------------------------------------------------------------------------------------
// Columns of `kubectl get` for the built-ins (the subset of the real ones that needs no controller).

function col(name: string, cell: TableColumn['cell'], type = 'string', priority = 0): TableColumn {
  return { name, type, priority, description: '', cell };
}

const get = (o: unknown, ...path: string[]): unknown => {
  let node = o;
  for (const p of path) node = isRecord(node) ? node[p] : undefined;
  return node;
};

const createdAt: TableColumn = {
  name: 'Created At',
  type: 'date',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => o.metadata.creationTimestamp ?? null,
};

function roleRefCell(o: KubeObject): string {
  return `${String(get(o, 'roleRef', 'kind'))}/${String(get(o, 'roleRef', 'name'))}`;
}

// ---------------------------------------------------------------------------------------------
// Validation of built-ins beyond types (422 Invalid).

function validatePolicyRules(obj: KubeObject, namespaced: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const rules = obj.rules;
  if (!Array.isArray(rules)) return errors;
  rules.forEach((rule: unknown, i) => {
    if (!isRecord(rule)) return;
    const p = `rules[${i}]`;
    const len = (k: string) => (Array.isArray(rule[k]) ? (rule[k] as unknown[]).length : 0);
    if (len('verbs') === 0) errors.push({ path: `${p}.verbs`, message: 'Required value: verbs must contain at least one value' });
    if (len('nonResourceURLs') > 0) {
      if (namespaced) {
        errors.push({
          path: `${p}.nonResourceURLs`,
          message: `Invalid value: ${JSON.stringify(rule.nonResourceURLs)}: namespaced rules cannot apply to non-resource URLs`,
        });
      } else if (len('apiGroups') > 0 || len('resources') > 0) {
        errors.push({
          path: `${p}.nonResourceURLs`,
          message: `Invalid value: ${JSON.stringify(rule.nonResourceURLs)}: rules cannot apply to both regular resources and non-resource URLs`,
        });
      }
      return;
    }
    if (len('apiGroups') === 0) errors.push({ path: `${p}.apiGroups`, message: 'Required value: resource rules must supply at least one api group' });
    if (len('resources') === 0) errors.push({ path: `${p}.resources`, message: 'Required value: resource rules must supply at least one resource' });
  });
  return errors;
}

function validateBinding(obj: KubeObject, kinds: string[], clusterScoped: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const ref = isRecord(obj.roleRef) ? obj.roleRef : {};
  if (ref.apiGroup !== 'rbac.authorization.k8s.io') {
    errors.push({ path: 'roleRef.apiGroup', message: `Unsupported value: ${JSON.stringify(ref.apiGroup ?? '')}: supported values: "rbac.authorization.k8s.io"` });
  }
  if (typeof ref.kind !== 'string' || !kinds.includes(ref.kind)) {
    errors.push({
      path: 'roleRef.kind',
      message: `Unsupported value: ${JSON.stringify(ref.kind ?? '')}: supported values: ${kinds.map((k) => JSON.stringify(k)).join(', ')}`,
    });
  }
  if (typeof ref.name !== 'string' || ref.name === '') errors.push({ path: 'roleRef.name', message: 'Required value' });
  const subs = Array.isArray(obj.subjects) ? obj.subjects : [];
  subs.forEach((s: unknown, i) => {
    if (!isRecord(s)) return;
    const p = `subjects[${i}]`;
    if (typeof s.name !== 'string' || s.name === '') errors.push({ path: `${p}.name`, message: 'Required value' });
    if (s.kind === 'ServiceAccount') {
      if (clusterScoped && (typeof s.namespace !== 'string' || s.namespace === '')) errors.push({ path: `${p}.namespace`, message: 'Required value' });
    } else if (s.kind !== 'User' && s.kind !== 'Group') {
      errors.push({ path: `${p}.kind`, message: `Unsupported value: ${JSON.stringify(s.kind ?? '')}: supported values: "ServiceAccount", "User", "Group"` });
    }
  });
  return errors;
}

function validateEventsV1(obj: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  for (const field of ['eventTime', 'reportingController', 'reportingInstance', 'action', 'reason']) {
    if (obj[field] === undefined || obj[field] === '' || obj[field] === null) errors.push({ path: field, message: 'Required value' });
  }
  if (obj.type !== 'Normal' && obj.type !== 'Warning') {
    errors.push({ path: 'type', message: `Unsupported value: ${JSON.stringify(obj.type ?? '')}: supported values: "Normal", "Warning"` });
  }
  if (typeof obj.note === 'string' && obj.note.length > 1024) errors.push({ path: 'note', message: 'Too long: may not be more than 1024 bytes' });
  return errors;
}

// ---------------------------------------------------------------------------------------------
// admissionregistration.k8s.io/v1: ValidatingAdmissionPolicy and its bindings.

const labelSelector: JsonSchema = {
  type: 'object',
  properties: {
    matchLabels: strMap,
    matchExpressions: { type: 'array', items: { type: 'object', properties: { key: str, operator: str, values: strList } } },
  },
};

const ruleWithOperations: JsonSchema = {
  type: 'object',
  properties: { resourceNames: strList, operations: strList, apiGroups: strList, apiVersions: strList, resources: strList, scope: str },
};

const matchResources: JsonSchema = {
  type: 'object',
  properties: {
    namespaceSelector: labelSelector,
    objectSelector: labelSelector,
    resourceRules: { type: 'array', items: ruleWithOperations },
    excludeResourceRules: { type: 'array', items: ruleWithOperations },
    matchPolicy: str,
  },
};

const namedExpressions: JsonSchema = { type: 'array', items: { type: 'object', properties: { name: str, expression: str } } };

const OPERATIONS = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
const SCOPES = ['*', 'Cluster', 'Namespaced'];
const REASONS = ['Unauthorized', 'Forbidden', 'Invalid', 'RequestEntityTooLarge'];
const ACTIONS = ['Audit', 'Deny', 'Warn'];

function supportedValues(path: string, value: unknown, supported: string[]): FieldError {
  return { path, message: `Unsupported value: ${JSON.stringify(value ?? '')}: supported values: ${supported.map((v) => JSON.stringify(v)).join(', ')}` };
}

function validateMatchResources(m: unknown, path: string, requireRules: boolean): FieldError[] {
  const errors: FieldError[] = [];
  if (!isRecord(m)) return requireRules ? [{ path, message: 'Required value' }] : [];
  const rules = Array.isArray(m.resourceRules) ? m.resourceRules : [];
  if (requireRules && rules.length === 0) errors.push({ path: `${path}.resourceRules`, message: 'Required value' });
  for (const field of ['resourceRules', 'excludeResourceRules']) {
    const list = Array.isArray(m[field]) ? (m[field] as unknown[]) : [];
    list.forEach((rule, i) => {
      if (!isRecord(rule)) return;
      const p = `${path}.${field}[${i}]`;
      for (const key of ['operations', 'apiGroups', 'apiVersions', 'resources']) {
        if (!Array.isArray(rule[key]) || (rule[key] as unknown[]).length === 0) errors.push({ path: `${p}.${key}`, message: 'Required value' });
      }
      ((rule.operations ?? []) as unknown[]).forEach((op, j) => {
        if (typeof op !== 'string' || !OPERATIONS.includes(op)) errors.push(supportedValues(`${p}.operations[${j}]`, op, OPERATIONS));
      });
      if (rule.scope !== undefined && (typeof rule.scope !== 'string' || !SCOPES.includes(rule.scope))) errors.push(supportedValues(`${p}.scope`, rule.scope, SCOPES));
    });
  }
  if (m.matchPolicy !== undefined && m.matchPolicy !== 'Exact' && m.matchPolicy !== 'Equivalent') errors.push(supportedValues(`${path}.matchPolicy`, m.matchPolicy, ['Equivalent', 'Exact']));
  return errors;
}

function validateExpressions(list: unknown, path: string, result: 'bool' | 'any', named: boolean): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  (Array.isArray(list) ? list : []).forEach((item: unknown, i) => {
    if (!isRecord(item)) return;
    const p = `${path}[${i}]`;
    if (named) {
      if (typeof item.name !== 'string' || item.name === '') errors.push({ path: `${p}.name`, message: 'Required value' });
      else if (seen.has(item.name)) errors.push({ path: `${p}.name`, message: `Duplicate value: ${JSON.stringify(item.name)}` });
      else seen.add(item.name);
    }
    const problem = expressionProblem(item.expression, result);
    if (problem) errors.push({ path: `${p}.expression`, message: problem });
  });
  return errors;
}

function validateAdmissionPolicy(obj: KubeObject): FieldError[] {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const errors = validateMatchResources(spec.matchConstraints, 'spec.matchConstraints', true);
  const validations = Array.isArray(spec.validations) ? spec.validations : [];
  const audits = Array.isArray(spec.auditAnnotations) ? spec.auditAnnotations : [];
  if (validations.length === 0 && audits.length === 0) {
    errors.push({ path: 'spec.validations', message: 'Required value: validations or auditAnnotations must contain at least one item' });
  }
  validations.forEach((v: unknown, i) => {
    if (!isRecord(v)) return;
    const p = `spec.validations[${i}]`;
    const problem = expressionProblem(v.expression, 'bool');
    if (problem) errors.push({ path: `${p}.expression`, message: problem });
    if (v.messageExpression !== undefined && v.messageExpression !== '') {
      const mp = expressionProblem(v.messageExpression, 'string');
      if (mp) errors.push({ path: `${p}.messageExpression`, message: mp });
    }
    if (typeof v.message === 'string' && /[\r\n]/.test(v.message)) errors.push({ path: `${p}.message`, message: `Invalid value: ${JSON.stringify(v.message)}: message must not contain line breaks` });
    if (v.reason !== undefined && (typeof v.reason !== 'string' || !REASONS.includes(v.reason))) errors.push(supportedValues(`${p}.reason`, v.reason, REASONS));
  });
  errors.push(...validateExpressions(spec.matchConditions, 'spec.matchConditions', 'bool', true));
  errors.push(...validateExpressions(spec.variables, 'spec.variables', 'any', true));
  if (spec.failurePolicy !== 'Fail' && spec.failurePolicy !== 'Ignore') errors.push(supportedValues('spec.failurePolicy', spec.failurePolicy, ['Fail', 'Ignore']));
  if (spec.paramKind !== undefined) {
    const pk = isRecord(spec.paramKind) ? spec.paramKind : {};
    if (typeof pk.apiVersion !== 'string' || pk.apiVersion === '') errors.push({ path: 'spec.paramKind.apiVersion', message: 'Required value' });
    if (typeof pk.kind !== 'string' || pk.kind === '') errors.push({ path: 'spec.paramKind.kind', message: 'Required value' });
  }
  return errors;
}

function validateAdmissionPolicyBinding(obj: KubeObject): FieldError[] {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const errors: FieldError[] = [];
  if (typeof spec.policyName !== 'string' || spec.policyName === '') errors.push({ path: 'spec.policyName', message: 'Required value' });
  const actions = Array.isArray(spec.validationActions) ? (spec.validationActions as unknown[]) : [];
  if (actions.length === 0) errors.push({ path: 'spec.validationActions', message: 'Required value: at least one validation action is required' });
  actions.forEach((a, i) => {
    if (typeof a !== 'string' || !ACTIONS.includes(a)) errors.push(supportedValues(`spec.validationActions[${i}]`, a, ACTIONS));
    else if (actions.indexOf(a) !== i) errors.push({ path: `spec.validationActions[${i}]`, message: `Duplicate value: ${JSON.stringify(a)}` });
  });
  if (actions.includes('Deny') && actions.includes('Warn')) {
    errors.push({ path: 'spec.validationActions', message: `Invalid value: ${JSON.stringify(actions)}: must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)` });
  }
  if (spec.paramRef !== undefined) {
    const ref = isRecord(spec.paramRef) ? spec.paramRef : {};
    const hasName = typeof ref.name === 'string' && ref.name !== '';
    if (hasName && ref.selector !== undefined) errors.push({ path: 'spec.paramRef.name', message: 'Forbidden: name and selector are mutually exclusive' });
    if (!hasName && ref.selector === undefined) errors.push({ path: 'spec.paramRef', message: 'Required value: one of name or selector must be specified' });
    if (ref.parameterNotFoundAction !== 'Allow' && ref.parameterNotFoundAction !== 'Deny') {
      errors.push(
        ref.parameterNotFoundAction === undefined
          ? { path: 'spec.paramRef.parameterNotFoundAction', message: 'Required value' }
          : supportedValues('spec.paramRef.parameterNotFoundAction', ref.parameterNotFoundAction, ['Allow', 'Deny']),
      );
    }
  }
  errors.push(...validateMatchResources(spec.matchResources, 'spec.matchResources', false));
  return errors;
}

/** The server's defaults: failurePolicy Fail, matchPolicy Equivalent, empty selectors, scope "*". */
function defaultMatchResources(m: unknown): void {
  if (!isRecord(m)) return;
  m.matchPolicy ??= 'Equivalent';
  m.namespaceSelector ??= {};
  m.objectSelector ??= {};
  for (const field of ['resourceRules', 'excludeResourceRules']) {
    for (const rule of Array.isArray(m[field]) ? (m[field] as unknown[]) : []) if (isRecord(rule)) rule.scope ??= '*';
  }
}

// ---------------------------------------------------------------------------------------------
// events.k8s.io/v1 is a view of the core Events (one storage, two shapes).

const EVENTS_V1_TO_CORE: [string, string][] = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const SHARED_EVENT_FIELDS = ['eventTime', 'series', 'reportingInstance', 'action', 'reason', 'related', 'type'];

const eventsConversion: StorageConversion = {
  toStorage(obj) {
    const out: KubeObject = { apiVersion: 'v1', kind: 'Event', metadata: obj.metadata };
    for (const f of SHARED_EVENT_FIELDS) if (obj[f] !== undefined) out[f] = obj[f];
    for (const [v1, core] of EVENTS_V1_TO_CORE) if (obj[v1] !== undefined) out[core] = obj[v1];
    if (out.involvedObject === undefined) out.involvedObject = {};
    return out;
  },
  fromStorage(obj) {
    const out: KubeObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: obj.metadata };
    for (const f of SHARED_EVENT_FIELDS) if (obj[f] !== undefined && obj[f] !== null && obj[f] !== '') out[f] = obj[f];
    for (const [v1, core] of EVENTS_V1_TO_CORE) {
      const v = obj[core];
      if (v === undefined || v === null || v === '' || v === 0 || (isRecord(v) && Object.keys(v).length === 0 && v1 !== 'regarding')) continue;
      out[v1] = v;
    }
    return out;
  },
};

// ---------------------------------------------------------------------------------------------

type BuiltinSpec = Pick<ResourceType, 'group' | 'version' | 'plural' | 'kind' | 'namespaced'> &
  Partial<Omit<ResourceType, 'group' | 'version' | 'plural' | 'kind' | 'namespaced'>>;

function builtin(spec: BuiltinSpec): ResourceType {
  return {
    singular: spec.kind.toLowerCase(),
    listKind: `${spec.kind}List`,
    shortNames: [],
    categories: [],
    storageKey: `${spec.group}/${spec.plural}`,
    hasStatusSubresource: false,
    tracksGeneration: false,
    generationIgnores: ['status'],
    custom: false,
    columns: [NAME_COLUMN, AGE_COLUMN],
    ...spec,
  };
}

const CORE_EVENT_TIMES: TimePath[] = [
  { path: ['firstTimestamp'], micro: false },
  { path: ['lastTimestamp'], micro: false },
  { path: ['eventTime'], micro: true },
  { path: ['series', 'lastObservedTime'], micro: true },
];

const coreEventSchema = root({
  involvedObject: objectReference,
  reason: str,
  message: str,
  source: { type: 'object', properties: { component: str, host: str } },
  firstTimestamp: { ...str, nullable: true },
  lastTimestamp: { ...str, nullable: true },
  count: int,
  type: str,
  eventTime: { ...str, nullable: true },
  series: eventSeries,
  action: str,
  related: objectReference,
  reportingComponent: str,
  reportingInstance: str,
});

const normalizeNamespaceTimes = timeNormalizer('Namespace', [{ path: ['status', 'conditions', '*', 'lastTransitionTime'], micro: false }]);

export function builtinResourceTypes(): ResourceType[] {
  return [
    builtin({
      group: '',
      version: 'v1',
      plural: 'namespaces',
      kind: 'Namespace',
      namespaced: false,
      shortNames: ['ns'],
      hasStatusSubresource: true,
      schema: root({
        spec: { type: 'object', properties: { finalizers: strList } },
        status: { type: 'object', properties: { phase: str, conditions: { type: 'array', items: condition } } },
      }),
      normalize: (obj) => {
        normalizeNamespaceTimes(obj);
        // The API server stamps every Namespace with its name (Kubernetes 1.21+), on create and on
        // update alike, overwriting any other value: NetworkPolicies select namespaces by it.
        const metadata = obj.metadata as { name?: string; labels?: Record<string, string> };
        if (metadata.name) metadata.labels = { ...metadata.labels, 'kubernetes.io/metadata.name': metadata.name };
      },
      columns: [NAME_COLUMN, col('Status', (o) => get(o, 'status', 'phase') ?? null), AGE_COLUMN],
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'configmaps',
      kind: 'ConfigMap',
      namespaced: true,
      shortNames: ['cm'],
      schema: root({ data: strMap, binaryData: strMap, immutable: bool }),
      validate: (o) => {
        const errors: FieldError[] = [];
        for (const field of ['data', 'binaryData']) {
          for (const key of Object.keys(isRecord(o[field]) ? (o[field] as object) : {})) {
            if (!/^[-._a-zA-Z0-9]+$/.test(key) || key.length > 253) {
              errors.push({
                path: `${field}[${key}]`,
                message: `Invalid value: ${JSON.stringify(key)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
              });
            }
          }
        }
        return errors;
      },
      columns: [NAME_COLUMN, col('Data', (o) => Object.keys(isRecord(o.data) ? o.data : {}).length + Object.keys(isRecord(o.binaryData) ? o.binaryData : {}).length, 'integer'), AGE_COLUMN],
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      storageKey: 'events',
      schema: coreEventSchema,
      normalize: timeNormalizer('Event', CORE_EVENT_TIMES),
      columns: [
        col('Last Seen', (o, now) => ageOf(o.lastTimestamp ?? get(o, 'series', 'lastObservedTime') ?? o.eventTime ?? o.metadata.creationTimestamp, now)),
        col('Type', (o) => o.type ?? null),
        col('Reason', (o) => o.reason ?? null),
        col('Object', (o) => `${String(get(o, 'involvedObject', 'kind') ?? '').toLowerCase()}/${String(get(o, 'involvedObject', 'name') ?? '')}`),
        col('Message', (o) => o.message ?? null),
      ],
    }),
    builtin({
      group: 'events.k8s.io',
      version: 'v1',
      plural: 'events',
      kind: 'Event',
      namespaced: true,
      shortNames: ['ev'],
      storageKey: 'events',
      conversion: eventsConversion,
      schema: root({
        eventTime: { ...str, nullable: true },
        series: eventSeries,
        reportingController: str,
        reportingInstance: str,
        action: str,
        reason: str,
        regarding: objectReference,
        related: objectReference,
        note: str,
        type: str,
        deprecatedSource: { type: 'object', properties: { component: str, host: str } },
        deprecatedFirstTimestamp: { ...str, nullable: true },
        deprecatedLastTimestamp: { ...str, nullable: true },
        deprecatedCount: int,
      }),
      validate: validateEventsV1,
      normalize: timeNormalizer('Event', CORE_EVENT_TIMES),
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'serviceaccounts',
      kind: 'ServiceAccount',
      namespaced: true,
      shortNames: ['sa'],
      schema: root({
        secrets: { type: 'array', items: objectReference },
        imagePullSecrets: { type: 'array', items: { type: 'object', properties: { name: str } } },
        automountServiceAccountToken: bool,
      }),
      columns: [NAME_COLUMN, col('Secrets', (o) => (Array.isArray(o.secrets) ? o.secrets.length : 0), 'integer'), AGE_COLUMN],
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'services',
      kind: 'Service',
      namespaced: true,
      shortNames: ['svc'],
      categories: ['all'],
      hasStatusSubresource: true,
      schema: root({ spec: anyObject, status: anyObject }),
      columns: [
        NAME_COLUMN,
        col('Type', (o) => get(o, 'spec', 'type') ?? 'ClusterIP'),
        col('Cluster-IP', (o) => get(o, 'spec', 'clusterIP') ?? '<none>'),
        col('External-IP', () => '<none>'),
        col('Port(s)', (o) => {
          const ports = get(o, 'spec', 'ports');
          return Array.isArray(ports) && ports.length > 0
            ? ports.map((p) => `${String(get(p, 'port'))}/${String(get(p, 'protocol') ?? 'TCP')}`).join(',')
            : '<none>';
        }),
        AGE_COLUMN,
      ],
    }),
    // Pods and Endpoints are stored objects only (no kubelet, no logs): enough for the runbooks'
    // `kubectl get pods` / `get endpoints` to show what a test puts there.
    builtin({
      group: '',
      version: 'v1',
      plural: 'pods',
      kind: 'Pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
      // No kubelet writes status here: a test creates pods with the status it needs.
      hasStatusSubresource: false,
      schema: root({ spec: anyObject, status: anyObject }),
      columns: [
        NAME_COLUMN,
        col('Ready', (o) => {
          const statuses = (get(o, 'status', 'containerStatuses') ?? []) as unknown[];
          return `${statuses.filter((c) => get(c, 'ready') === true).length}/${Array.isArray(get(o, 'spec', 'containers')) ? (get(o, 'spec', 'containers') as unknown[]).length : statuses.length}`;
        }),
        col('Status', (o) => {
          const statuses = (get(o, 'status', 'containerStatuses') ?? []) as unknown[];
          const waiting = statuses.map((c) => get(c, 'state', 'waiting', 'reason')).find((reason) => typeof reason === 'string');
          return (waiting as string | undefined) ?? String(get(o, 'status', 'phase') ?? 'Pending');
        }),
        col('Restarts', (o) => ((get(o, 'status', 'containerStatuses') ?? []) as unknown[]).reduce((sum: number, c) => sum + Number(get(c, 'restartCount') ?? 0), 0), 'integer'),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: '',
      version: 'v1',
      plural: 'endpoints',
      kind: 'Endpoints',
      namespaced: true,
      shortNames: ['ep'],
      schema: root({ subsets: { type: 'array', items: anyObject } }),
      columns: [
        NAME_COLUMN,
        col('Endpoints', (o) => {
          const subsets = (get(o, 'subsets') ?? []) as unknown[];
          const text = subsets
            .flatMap((subset) => ((get(subset, 'addresses') ?? []) as unknown[]).flatMap((address) => ((get(subset, 'ports') ?? []) as unknown[]).map((port) => `${String(get(address, 'ip'))}:${String(get(port, 'port'))}`)))
            .join(',');
          return text === '' ? '<none>' : text;
        }),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'apps',
      version: 'v1',
      plural: 'deployments',
      kind: 'Deployment',
      namespaced: true,
      shortNames: ['deploy'],
      categories: ['all'],
      hasStatusSubresource: true,
      tracksGeneration: true,
      schema: root({ spec: anyObject, status: anyObject }),
      columns: [
        NAME_COLUMN,
        col('Ready', (o) => `${Number(get(o, 'status', 'readyReplicas') ?? 0)}/${Number(get(o, 'spec', 'replicas') ?? 1)}`),
        col('Up-to-date', (o) => Number(get(o, 'status', 'updatedReplicas') ?? 0), 'integer'),
        col('Available', (o) => Number(get(o, 'status', 'availableReplicas') ?? 0), 'integer'),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'networkpolicies',
      kind: 'NetworkPolicy',
      namespaced: true,
      shortNames: ['netpol'],
      tracksGeneration: true,
      schema: root({ spec: anyObject }),
      columns: [
        NAME_COLUMN,
        col('Pod-Selector', (o) => {
          const labels = (get(o, 'spec', 'podSelector', 'matchLabels') ?? {}) as Record<string, string>;
          const text = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
          return text === '' ? '<none>' : text;
        }),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'policy',
      version: 'v1',
      plural: 'poddisruptionbudgets',
      kind: 'PodDisruptionBudget',
      namespaced: true,
      shortNames: ['pdb'],
      hasStatusSubresource: true,
      tracksGeneration: true,
      schema: root({ spec: anyObject, status: anyObject }),
      columns: [
        NAME_COLUMN,
        col('Min Available', (o) => get(o, 'spec', 'minAvailable') ?? 'N/A'),
        col('Max Unavailable', (o) => get(o, 'spec', 'maxUnavailable') ?? 'N/A'),
        col('Allowed Disruptions', (o) => Number(get(o, 'status', 'disruptionsAllowed') ?? 0), 'integer'),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'coordination.k8s.io',
      version: 'v1',
      plural: 'leases',
      kind: 'Lease',
      namespaced: true,
      schema: root({
        spec: {
          type: 'object',
          properties: {
            holderIdentity: str,
            leaseDurationSeconds: int,
            acquireTime: { ...str, nullable: true },
            renewTime: { ...str, nullable: true },
            leaseTransitions: int,
            strategy: str,
            preferredHolder: str,
          },
        },
      }),
      normalize: timeNormalizer('Lease', [
        { path: ['spec', 'acquireTime'], micro: true },
        { path: ['spec', 'renewTime'], micro: true },
      ]),
      columns: [NAME_COLUMN, col('Holder', (o) => get(o, 'spec', 'holderIdentity') ?? ''), AGE_COLUMN],
    }),
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'clusterroles',
      kind: 'ClusterRole',
      namespaced: false,
      schema: root({ rules: { type: 'array', items: policyRule }, aggregationRule: anyObject }),
      validate: (o) => validatePolicyRules(o, false),
      columns: [NAME_COLUMN, createdAt],
    }),
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'clusterrolebindings',
      kind: 'ClusterRoleBinding',
      namespaced: false,
      schema: root({ roleRef, subjects }),
      validate: (o) => validateBinding(o, ['ClusterRole'], true),
      columns: [NAME_COLUMN, col('Role', roleRefCell), AGE_COLUMN],
    }),
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'roles',
      kind: 'Role',
      namespaced: true,
      schema: root({ rules: { type: 'array', items: policyRule } }),
      validate: (o) => validatePolicyRules(o, true),
      columns: [NAME_COLUMN, createdAt],
    }),
    builtin({
      group: 'rbac.authorization.k8s.io',
      version: 'v1',
      plural: 'rolebindings',
      kind: 'RoleBinding',
      namespaced: true,
      schema: root({ roleRef, subjects }),
      validate: (o) => validateBinding(o, ['Role', 'ClusterRole'], false),
      columns: [NAME_COLUMN, col('Role', roleRefCell), AGE_COLUMN],
    }),
    builtin({
      group: 'authorization.k8s.io',
      version: 'v1',
      plural: 'selfsubjectaccessreviews',
      kind: 'SelfSubjectAccessReview',
      namespaced: false,
      verbs: ['create'],
      accessReview: 'self',
    }),
    builtin({
      group: 'authorization.k8s.io',
      version: 'v1',
      plural: 'subjectaccessreviews',
      kind: 'SubjectAccessReview',
      namespaced: false,
      verbs: ['create'],
      accessReview: 'subject',
    }),
    builtin({
      group: 'admissionregistration.k8s.io',
      version: 'v1',
      plural: 'validatingadmissionpolicies',
      kind: 'ValidatingAdmissionPolicy',
      namespaced: false,
      categories: ['api-extensions'],
      hasStatusSubresource: true,
      tracksGeneration: true,
      schema: root({
        spec: {
          type: 'object',
          properties: {
            paramKind: { type: 'object', properties: { apiVersion: str, kind: str } },
            matchConstraints: matchResources,
            validations: { type: 'array', items: { type: 'object', properties: { expression: str, message: str, reason: str, messageExpression: str } } },
            failurePolicy: str,
            auditAnnotations: { type: 'array', items: { type: 'object', properties: { key: str, valueExpression: str } } },
            matchConditions: namedExpressions,
            variables: namedExpressions,
          },
        },
        status: {
          type: 'object',
          properties: {
            observedGeneration: int,
            typeChecking: { type: 'object', properties: { expressionWarnings: { type: 'array', items: { type: 'object', properties: { fieldRef: str, warning: str } } } } },
            conditions: { type: 'array', items: condition },
          },
        },
      }),
      normalize: (o) => {
        if (!isRecord(o.spec)) return;
        o.spec.failurePolicy ??= 'Fail';
        defaultMatchResources(o.spec.matchConstraints);
      },
      validate: validateAdmissionPolicy,
      columns: [
        NAME_COLUMN,
        col('Validations', (o) => (Array.isArray(get(o, 'spec', 'validations')) ? (get(o, 'spec', 'validations') as unknown[]).length : 0), 'integer'),
        col('ParamKind', (o) => {
          const pk = get(o, 'spec', 'paramKind');
          return isRecord(pk) ? `${String(pk.apiVersion)}/${String(pk.kind)}` : '<unset>';
        }),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'admissionregistration.k8s.io',
      version: 'v1',
      plural: 'validatingadmissionpolicybindings',
      kind: 'ValidatingAdmissionPolicyBinding',
      namespaced: false,
      categories: ['api-extensions'],
      tracksGeneration: true,
      schema: root({
        spec: {
          type: 'object',
          properties: {
            policyName: str,
            paramRef: { type: 'object', properties: { name: str, namespace: str, selector: labelSelector, parameterNotFoundAction: str } },
            matchResources,
            validationActions: strList,
          },
        },
      }),
      normalize: (o) => {
        if (isRecord(o.spec)) defaultMatchResources(o.spec.matchResources);
      },
      validate: validateAdmissionPolicyBinding,
      columns: [
        NAME_COLUMN,
        col('PolicyName', (o) => get(o, 'spec', 'policyName') ?? ''),
        col('ParamRef', (o) => {
          const ref = get(o, 'spec', 'paramRef');
          if (!isRecord(ref)) return '<unset>';
          const target = typeof ref.name === 'string' && ref.name !== '' ? ref.name : '*';
          return typeof ref.namespace === 'string' && ref.namespace !== '' ? `${ref.namespace}/${target}` : target;
        }),
        AGE_COLUMN,
      ],
    }),
    builtin({
      group: 'apiextensions.k8s.io',
      version: 'v1',
      plural: 'customresourcedefinitions',
      kind: 'CustomResourceDefinition',
      namespaced: false,
      shortNames: ['crd', 'crds'],
      categories: ['api-extensions'],
      hasStatusSubresource: true,
      tracksGeneration: true,
      schema: root({ spec: anyObject, status: anyObject }),
      columns: [NAME_COLUMN, createdAt],
    }),
  ];
}

/** RBAC bindings' roleRef cannot change once set. */
export function immutableFieldErrors(rt: ResourceType, previous: KubeObject, next: KubeObject): FieldError[] {
  if (rt.group === 'rbac.authorization.k8s.io' && (rt.kind === 'RoleBinding' || rt.kind === 'ClusterRoleBinding')) {
    if (JSON.stringify(previous.roleRef) !== JSON.stringify(next.roleRef)) {
      return [{ path: 'roleRef', message: `Invalid value: ${JSON.stringify(next.roleRef)}: cannot change roleRef` }];
    }
  }
  if (rt.kind === 'ConfigMap' && previous.immutable === true) {
    if (JSON.stringify(previous.data) !== JSON.stringify(next.data) || JSON.stringify(previous.binaryData) !== JSON.stringify(next.binaryData)) {
      return [{ path: 'data', message: 'Forbidden: field is immutable when `immutable` is set' }];
    }
  }
  return [];
}
