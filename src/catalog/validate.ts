// Validation of catalog objects, separate from loading so the same rules apply to objects read
// from files (offline `render`) and from the API server (the operator). Problems are values:
// one message per problem, with the field path, and no typed object when there is any.

import { isRecord, type CiliumPolicySpec, type CiliumRule, type KubeObject, type LabelSelector } from '../kube/types.js';
import { describeType, isDnsLabel, isLabelKey, isLabelValue, quoteValue } from '../kube/names.js';
import { ciliumSchemaProblems } from './cilium-schema.js';
import {
  CATALOG_API_VERSION,
  MAX_CATALOG_NAME_LENGTH,
  PORT_PROTOCOLS,
  type CatalogKind,
  type NetworkBaseline,
  type NetworkProfile,
  type PortProtocol,
  type ServicePort,
  type SharedService,
} from './types.js';
import { canonicalize } from '../render/canonical.js';
import { catalogLimitProblems, nestingProblem } from './limits.js';

export type CatalogEntry =
  | { kind: 'NetworkProfile'; value: NetworkProfile }
  | { kind: 'SharedService'; value: SharedService }
  | { kind: 'NetworkBaseline'; value: NetworkBaseline };

export type CatalogValidation = { ok: true; entry: CatalogEntry } | { ok: false; problems: string[] };

// Cilium's entity names (the enum of `toEntities` in the v2 CRD).
export const CILIUM_ENTITIES: readonly string[] = [
  'all', 'world', 'cluster', 'host', 'init', 'ingress', 'unmanaged', 'remote-node', 'health', 'none', 'kube-apiserver',
];

// Selector keys that would move a shared service's selector out of its namespace.
const NAMESPACE_SCOPING_KEYS = ['io.kubernetes.pod.namespace', 'io.cilium.k8s.namespace.labels', 'io.cilium.k8s.policy'];

/** The name a catalog object must have, or a problem. */
export function catalogNameProblem(name: unknown): string | undefined {
  if (name === undefined || name === null || name === '') return 'metadata.name is missing';
  if (typeof name !== 'string') return `metadata.name must be a string, not ${describeType(name)} (${quoteValue(String(name))})`;
  if (!isDnsLabel(name) || name.length > MAX_CATALOG_NAME_LENGTH) {
    return `metadata.name ${quoteValue(name)} must be a lowercase DNS label (a-z, 0-9, '-') of at most ${MAX_CATALOG_NAME_LENGTH} characters`;
  }
  return undefined;
}

export function validateCatalogObject(object: KubeObject): CatalogValidation {
  const kind = object.kind as CatalogKind;
  const problems: string[] = [];
  if (object.apiVersion !== CATALOG_API_VERSION) {
    problems.push(`apiVersion must be ${CATALOG_API_VERSION}, not ${quoteValue(String(object.apiVersion ?? ''))}`);
  }
  const nameProblem = catalogNameProblem(object.metadata?.name);
  if (nameProblem) problems.push(nameProblem);
  const name = object.metadata?.name ?? '';
  if (object.metadata?.namespace) {
    problems.push(`${kind} is cluster-scoped; remove metadata.namespace`);
  }
  const spec = object.spec;
  if (!isRecord(spec)) {
    problems.push('spec is missing or not an object');
    return { ok: false, problems };
  }
  const tooDeep = nestingProblem(spec);
  if (tooDeep) return { ok: false, problems: [...problems, `spec ${tooDeep}`] };
  let entry: CatalogEntry | undefined;
  switch (kind) {
    case 'NetworkProfile': {
      const value = validateProfileSpec(name, spec, problems);
      if (value) entry = { kind, value };
      break;
    }
    case 'SharedService': {
      const value = validateSharedServiceSpec(name, spec, problems);
      if (value) entry = { kind, value };
      break;
    }
    case 'NetworkBaseline': {
      const value = validateBaselineSpec(name, spec, problems);
      if (value) entry = { kind, value };
      break;
    }
    default:
      problems.push(`kind ${quoteValue(String(kind))} is not a catalog kind`);
  }
  if (problems.length > 0 || !entry) return { ok: false, problems };
  const limits = catalogLimitProblems(kind, object);
  if (limits.length > 0) return { ok: false, problems: limits };
  return { ok: true, entry };
}

function optionalDescription(spec: Record<string, unknown>, problems: string[]): string {
  if (spec.description === undefined) return '';
  if (typeof spec.description !== 'string') {
    problems.push('spec.description must be a string');
    return '';
  }
  return spec.description;
}

function ruleList(spec: Record<string, unknown>, field: 'ingress' | 'egress', problems: string[]): CiliumRule[] {
  const rules = spec[field];
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) {
    problems.push(`spec.${field} must be a list of Cilium ${field} rules`);
    return [];
  }
  if (rules.length === 0) {
    problems.push(emptySectionProblem(field));
    return [];
  }
  const result: CiliumRule[] = [];
  rules.forEach((rule, index) => {
    if (!isRecord(rule)) {
      problems.push(`spec.${field}[${index}] must be an object (a Cilium ${field} rule)`);
      return;
    }
    result.push(canonicalize(rule) as CiliumRule);
  });
  for (const problem of ciliumSchemaProblems(field, result)) problems.push(`spec.${problem}`);
  result.forEach((rule, index) => checkRulePorts(rule, `spec.${field}[${index}]`, problems));
  return result;
}

// Cilium's port pattern is unanchored at the end, so its schema lets "99999" through and the agent
// rejects the policy later; catch numeric ports out of range here.
function checkRulePorts(rule: CiliumRule, at: string, problems: string[]): void {
  const toPorts = rule.toPorts;
  if (!Array.isArray(toPorts)) return;
  toPorts.forEach((entry, i) => {
    const ports = isRecord(entry) ? entry.ports : undefined;
    if (!Array.isArray(ports)) return;
    ports.forEach((port, j) => {
      const value = isRecord(port) ? port.port : undefined;
      if (typeof value === 'string' && /^[0-9]+$/.test(value) && Number(value) > 65535) {
        problems.push(`${at}.toPorts[${i}].ports[${j}].port: ${quoteValue(value)} is not a port number (0-65535)`);
      }
    });
  });
}

function validateProfileSpec(name: string, spec: Record<string, unknown>, problems: string[]): NetworkProfile | undefined {
  const before = problems.length;
  const description = optionalDescription(spec, problems);
  const ingress = ruleList(spec, 'ingress', problems);
  const egress = ruleList(spec, 'egress', problems);
  for (const key of Object.keys(spec)) {
    if (!['description', 'ingress', 'egress'].includes(key)) problems.push(`spec.${key} is not a NetworkProfile field`);
  }
  if (problems.length > before) return undefined;
  return { name, description, ingress, egress };
}

function validateSharedServiceSpec(name: string, spec: Record<string, unknown>, problems: string[]): SharedService | undefined {
  const before = problems.length;
  const description = optionalDescription(spec, problems);
  for (const key of Object.keys(spec)) {
    if (!['description', 'namespace', 'podSelector', 'entities', 'ports', 'manageIngress'].includes(key)) {
      problems.push(`spec.${key} is not a SharedService field`);
    }
  }
  const hasNamespace = spec.namespace !== undefined;
  const hasEntities = spec.entities !== undefined;
  let target: SharedService['target'] | undefined;
  if (hasNamespace && hasEntities) {
    problems.push('spec.namespace and spec.entities are mutually exclusive: a shared service is either pods in a namespace or Cilium entities');
  } else if (hasEntities) {
    const entities = spec.entities;
    if (spec.podSelector !== undefined) problems.push('spec.podSelector needs spec.namespace; it cannot be used with spec.entities');
    if (!Array.isArray(entities) || entities.length === 0) {
      problems.push('spec.entities must be a non-empty list of Cilium entities');
    } else {
      entities.forEach((entity, index) => {
        if (typeof entity !== 'string' || !CILIUM_ENTITIES.includes(entity)) {
          problems.push(`spec.entities[${index}]: ${quoteValue(String(entity))} is not a Cilium entity (one of ${CILIUM_ENTITIES.join(', ')})`);
        }
      });
      target = { kind: 'entities', entities: [...new Set(entities as string[])].sort() };
    }
  } else if (hasNamespace) {
    const namespace = spec.namespace;
    if (typeof namespace !== 'string' || !isDnsLabel(namespace)) {
      problems.push(`spec.namespace ${quoteValue(String(namespace))} is not a valid namespace name`);
    }
    const podSelector = validateSelector(spec.podSelector ?? {}, 'spec.podSelector', problems);
    if (typeof namespace === 'string') target = { kind: 'pods', namespace, podSelector };
  } else {
    problems.push('spec.namespace (pods of the service) or spec.entities (Cilium entities) is required');
  }
  const ports = validatePorts(spec.ports, problems);
  let manageIngress = false;
  if (spec.manageIngress !== undefined) {
    if (typeof spec.manageIngress !== 'boolean') problems.push('spec.manageIngress must be true or false');
    else manageIngress = spec.manageIngress;
  }
  if (manageIngress && hasEntities) {
    problems.push('spec.manageIngress needs spec.namespace: the operator can only manage ingress of pods, not of entities');
  }
  if (problems.length > before || !target) return undefined;
  return { name, description, target, ports, manageIngress };
}

const PORT_NUMBER = /^[0-9]{1,5}$/;

function validatePorts(value: unknown, problems: string[]): ServicePort[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('spec.ports must list at least one port, e.g. [{port: "5432", protocol: TCP}]');
    return [];
  }
  const ports: ServicePort[] = [];
  value.forEach((entry, index) => {
    const at = `spec.ports[${index}]`;
    if (!isRecord(entry)) {
      problems.push(`${at} must be an object with port and protocol`);
      return;
    }
    for (const key of Object.keys(entry)) {
      if (!['port', 'protocol', 'endPort'].includes(key)) problems.push(`${at}.${key} is not a port field (port, protocol, endPort)`);
    }
    const port = typeof entry.port === 'number' ? String(entry.port) : entry.port;
    const number = typeof port === 'string' && PORT_NUMBER.test(port) ? Number(port) : NaN;
    if (!(number >= 1 && number <= 65535)) {
      problems.push(`${at}.port ${quoteValue(String(entry.port))} must be a port number from 1 to 65535`);
    }
    const protocol = entry.protocol ?? 'TCP';
    if (typeof protocol !== 'string' || !PORT_PROTOCOLS.includes(protocol as PortProtocol)) {
      problems.push(`${at}.protocol ${quoteValue(String(protocol))} must be one of ${PORT_PROTOCOLS.join(', ')}`);
    }
    let endPort: number | undefined;
    if (entry.endPort !== undefined) {
      if (typeof entry.endPort !== 'number' || !Number.isInteger(entry.endPort) || entry.endPort < number || entry.endPort > 65535) {
        problems.push(`${at}.endPort must be a port number from port to 65535`);
      } else {
        endPort = entry.endPort;
      }
    }
    if (typeof port === 'string') {
      ports.push(endPort === undefined ? { port, protocol: protocol as PortProtocol } : { port, protocol: protocol as PortProtocol, endPort });
    }
  });
  return ports;
}

const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

/** A pod label selector. Keys may carry a Cilium source prefix (`k8s:app`). */
export function validateSelector(value: unknown, at: string, problems: string[]): LabelSelector {
  if (!isRecord(value)) {
    problems.push(`${at} must be a label selector (matchLabels / matchExpressions)`);
    return {};
  }
  const selector: LabelSelector = {};
  for (const key of Object.keys(value)) {
    if (key !== 'matchLabels' && key !== 'matchExpressions') problems.push(`${at}.${key} is not a label selector field`);
  }
  const checkKey = (key: string, where: string): void => {
    const bare = key.replace(/^[a-z0-9]+:/, '');
    if (!isLabelKey(bare)) problems.push(`${where}: ${quoteValue(key)} is not a valid label key`);
    else if (NAMESPACE_SCOPING_KEYS.some((scoping) => bare.startsWith(scoping))) {
      problems.push(`${where}: ${quoteValue(key)} selects namespaces; use spec.namespace instead`);
    }
  };
  if (value.matchLabels !== undefined) {
    if (!isRecord(value.matchLabels)) {
      problems.push(`${at}.matchLabels must be a map of label keys to values`);
    } else {
      const labels: Record<string, string> = {};
      for (const [key, labelValue] of Object.entries(value.matchLabels)) {
        checkKey(key, `${at}.matchLabels`);
        if (typeof labelValue !== 'string' || !isLabelValue(labelValue)) {
          problems.push(`${at}.matchLabels[${key}]: ${quoteValue(String(labelValue))} is not a valid label value`);
        } else {
          labels[key] = labelValue;
        }
      }
      selector.matchLabels = labels;
    }
  }
  if (value.matchExpressions !== undefined) {
    if (!Array.isArray(value.matchExpressions)) {
      problems.push(`${at}.matchExpressions must be a list`);
    } else {
      selector.matchExpressions = [];
      value.matchExpressions.forEach((expression, index) => {
        const where = `${at}.matchExpressions[${index}]`;
        if (!isRecord(expression) || typeof expression.key !== 'string' || typeof expression.operator !== 'string') {
          problems.push(`${where} must have a key and an operator`);
          return;
        }
        checkKey(expression.key, where);
        const operator = expression.operator;
        if (!SELECTOR_OPERATORS.includes(operator)) {
          problems.push(`${where}.operator ${quoteValue(operator)} must be one of ${SELECTOR_OPERATORS.join(', ')}`);
          return;
        }
        const values = expression.values;
        const needsValues = operator === 'In' || operator === 'NotIn';
        if (needsValues && (!Array.isArray(values) || values.length === 0 || values.some((v) => typeof v !== 'string'))) {
          problems.push(`${where}.values must be a non-empty list of strings for ${operator}`);
          return;
        }
        if (!needsValues && values !== undefined && (!Array.isArray(values) || values.length > 0)) {
          problems.push(`${where}.values must be empty for ${operator}`);
          return;
        }
        selector.matchExpressions!.push(
          needsValues
            ? { key: expression.key, operator, values: [...(values as string[])] }
            : { key: expression.key, operator: operator as 'Exists' | 'DoesNotExist' },
        );
      });
    }
  }
  return canonicalize(selector) as LabelSelector;
}

// Cilium 1.17+ rejects a policy whose rule sections are all empty, and older versions ignore an
// empty section: either way `ingress: []` is not what its author meant.
function emptySectionProblem(field: string): string {
  return `spec.${field} is an empty list: omit it, or give at least one rule (Cilium 1.17+ rejects a policy whose sections are all empty; older versions ignore an empty section)`;
}

function validateBaselineSpec(name: string, spec: Record<string, unknown>, problems: string[]): NetworkBaseline | undefined {
  const before = problems.length;
  const sections = ['ingress', 'ingressDeny', 'egress', 'egressDeny'].filter((key) => spec[key] !== undefined);
  if (sections.length === 0) {
    problems.push('spec needs at least one of ingress, ingressDeny, egress, egressDeny (Cilium rejects a policy with none)');
  }
  for (const section of sections) {
    if (Array.isArray(spec[section]) && (spec[section] as unknown[]).length === 0) problems.push(emptySectionProblem(section));
  }
  if (problems.length > before) return undefined;
  if (spec.endpointSelector === undefined && spec.nodeSelector === undefined) {
    problems.push('spec.endpointSelector (or spec.nodeSelector) is required; use {} to select every endpoint');
  }
  for (const problem of ciliumSchemaProblems('clusterwideSpec', spec)) problems.push(`spec.${problem}`);
  if (problems.length > before) return undefined;
  return { name, spec: canonicalize(spec) as CiliumPolicySpec };
}
