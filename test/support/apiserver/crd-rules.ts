// The apiextensions.k8s.io/v1 rules the kube-apiserver applies to a CustomResourceDefinition's
// schemas, printer columns and subresources, so tests can prove a CRD is accepted before a cluster sees it.
import { formatSchemaError, validateSchema, type JsonSchema } from '../../../src/kube/openapi.js';
import { isRecord } from '../../../src/kube/types.js';

/** One reason the API server would refuse the CRD: a field path as the server prints it, and why. */
export interface CrdProblem {
  path: string;
  message: string;
}

type Json = Record<string, unknown>;
type Level = 'root' | 'field' | 'item';

// Field paths in the server's notation: `.child`, `[index]`, and map keys as `[key]` without quotes.
const child = (path: string, name: string) => `${path}.${name}`;
const at = (path: string, keyOrIndex: string | number) => `${path}[${keyOrIndex}]`;

/** A value inside a message, as the server quotes it, shortened so one bad default cannot flood the output. */
function show(value: unknown): string {
  const text = value === undefined ? 'null' : JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function supported(values: readonly string[]): string {
  return [...values].sort().map((v) => JSON.stringify(v)).join(', ');
}

const SCHEMA_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'] as const;
const JUNCTORS = ['allOf', 'anyOf', 'oneOf'] as const;
/** JSON Schema keywords that a CRD schema may not use at all: the server resolves no references and prunes by `properties` only. */
const UNSUPPORTED_KEYWORDS = ['$ref', 'definitions', 'patternProperties', 'dependencies', 'id', 'additionalItems'];
/** Fields the server owns at the root (and in embedded resources); their schemas are restricted. */
const META_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);
const VALIDATION_REASONS = ['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate'];
const COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];
const COLUMN_FORMATS = ['int32', 'int64', 'float', 'double', 'byte', 'date', 'date-time', 'password'];
const LIST_TYPES = ['atomic', 'set', 'map'];
const MAP_TYPES = ['atomic', 'granular'];

const MISSING_TYPE: Record<Level, string> = {
  root: 'must not be empty at the root',
  field: 'must not be empty for specified object fields',
  item: 'must not be empty for specified array items',
};

/**
 * Every problem the API server would report for `crd`'s versions (schemas, printer columns,
 * subresources); an empty array means it would accept them. Names, group and scope are not checked here.
 */
export function crdDefinitionProblems(crd: unknown): CrdProblem[] {
  const out: CrdProblem[] = [];
  const spec = isRecord(crd) && isRecord(crd.spec) ? crd.spec : {};
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  versions.forEach((version: unknown, i) => {
    if (!isRecord(version)) return;
    const path = at('spec.versions', i);
    const schema = isRecord(version.schema) ? version.schema.openAPIV3Schema : undefined;
    if (!isRecord(schema)) {
      out.push({ path: `${path}.schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
    } else {
      checkNode(schema, `${path}.schema.openAPIV3Schema`, { level: 'root' }, out);
    }
    checkPrinterColumns(version.additionalPrinterColumns, child(path, 'additionalPrinterColumns'), out);
    checkSubresources(version.subresources, child(path, 'subresources'), out);
  });
  return out;
}

interface Scope {
  level: Level;
  /** Why defaults are forbidden in this subtree (the server's own fields), if they are. */
  noDefaults?: string;
}

/** A schema node outside any junctor: the structural rules plus the rules every node obeys. */
function checkNode(node: unknown, path: string, scope: Scope, out: CrdProblem[]): void {
  if (!isRecord(node)) {
    out.push({ path, message: `Invalid value: ${show(node)}: must be a schema object` });
    return;
  }
  checkKeywords(node, path, out);

  const type = node.type;
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  const embedded = node['x-kubernetes-embedded-resource'] === true;
  const hasType = type !== undefined && type !== '';

  if (!hasType) {
    // An embedded resource gets its own, more specific error below; the root is always an object.
    if (scope.level === 'root' || (!intOrString && !preserve && !embedded)) out.push({ path: child(path, 'type'), message: `Required value: ${MISSING_TYPE[scope.level]}` });
  } else if (typeof type !== 'string' || !(SCHEMA_TYPES as readonly string[]).includes(type)) {
    out.push({ path: child(path, 'type'), message: `Unsupported value: ${show(type)}: supported values: ${supported(SCHEMA_TYPES)}` });
  } else if (scope.level === 'root' && type !== 'object') {
    out.push({ path: child(path, 'type'), message: `Invalid value: ${show(type)}: must be object at the root` });
  }
  if (type === 'array' && node.items === undefined) out.push({ path: child(path, 'items'), message: 'Required value: must be specified for type array' });
  if (intOrString && hasType) {
    out.push({ path: child(path, 'type'), message: `Invalid value: ${show(type)}: must be empty if x-kubernetes-int-or-string is true` });
  }
  if (embedded && type !== 'object') {
    out.push({
      path: child(path, 'type'),
      message: hasType ? `Invalid value: ${show(type)}: must be object if x-kubernetes-embedded-resource is true` : 'Required value: must be object if x-kubernetes-embedded-resource is true',
    });
  }
  const properties = isRecord(node.properties) ? node.properties : {};
  if (embedded && !preserve && Object.keys(properties).length === 0) {
    out.push({ path: child(path, 'properties'), message: 'Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields' });
  }
  if (scope.level === 'root' && node.additionalProperties !== undefined) {
    out.push({ path: child(path, 'additionalProperties'), message: 'Forbidden: must not be used at the root' });
  }
  if (scope.level === 'root' || embedded) checkServerFields(properties, path, scope.level === 'root', out);
  checkExtensions(node, path, out);
  checkValidationRules(node, path, out);
  checkDefault(node, path, scope, out);

  // The junctors only add value checks; what they name must exist in the structure around them.
  for (const [branch, branchPath] of junctorBranches(node, path)) {
    checkInJunctor(branch, branchPath, out);
    checkCompleteness(branch, node, path, branchPath, out);
  }

  for (const [name, sub] of Object.entries(properties)) {
    const noDefaults = scope.noDefaults ?? (scope.level === 'root' && META_FIELDS.has(name) ? `in top-level ${name}` : undefined);
    checkNode(sub, at(child(path, 'properties'), name), { level: 'field', noDefaults }, out);
  }
  const { noDefaults } = scope;
  if (isRecord(node.additionalProperties)) checkNode(node.additionalProperties, child(path, 'additionalProperties'), { level: 'field', noDefaults }, out);
  if (isRecord(node.items)) checkNode(node.items, child(path, 'items'), { level: 'item', noDefaults }, out);
}

/** Rules for every node, inside junctors too. */
function checkKeywords(node: Json, path: string, out: CrdProblem[]): void {
  for (const keyword of UNSUPPORTED_KEYWORDS) {
    if (node[keyword] !== undefined) out.push({ path: child(path, keyword), message: `Forbidden: ${keyword} is not supported in CRD schemas` });
  }
  for (const junctor of JUNCTORS) {
    const list = node[junctor];
    if (list !== undefined && !Array.isArray(list)) out.push({ path: child(path, junctor), message: `Invalid value: ${show(list)}: must be a list of schemas` });
  }
  if (Array.isArray(node.items)) out.push({ path: child(path, 'items'), message: 'Forbidden: items must be a single schema, not an array of schemas' });
  if (node.uniqueItems === true) {
    out.push({ path: child(path, 'uniqueItems'), message: 'Forbidden: uniqueItems cannot be true (checking it is quadratic); use x-kubernetes-list-type: set' });
  }
  const additional = node.additionalProperties;
  if (additional === false) {
    out.push({ path: child(path, 'additionalProperties'), message: 'Forbidden: additionalProperties cannot be false; leave it out, unknown fields are pruned anyway' });
  } else if (isRecord(additional) && isRecord(node.properties) && Object.keys(node.properties).length > 0) {
    out.push({ path: child(path, 'additionalProperties'), message: 'Forbidden: additionalProperties and properties are mutually exclusive' });
  } else if (additional !== undefined && additional !== true && !isRecord(additional)) {
    out.push({ path: child(path, 'additionalProperties'), message: `Invalid value: ${show(additional)}: must be a schema or true` });
  }
  const preserve = node['x-kubernetes-preserve-unknown-fields'];
  if (preserve !== undefined && preserve !== true) {
    out.push({ path: child(path, 'x-kubernetes-preserve-unknown-fields'), message: `Invalid value: ${show(preserve)}: must be true or undefined` });
  }
}

/** `apiVersion`, `kind` and `metadata` belong to the server; a schema may narrow only a little of them. */
function checkServerFields(properties: Json, path: string, root: boolean, out: CrdProblem[]): void {
  const props = child(path, 'properties');
  for (const name of ['apiVersion', 'kind']) {
    const sub = properties[name];
    if (isRecord(sub) && sub.type !== undefined && sub.type !== 'string') {
      out.push({ path: child(at(props, name), 'type'), message: `Invalid value: ${show(sub.type)}: must be string` });
    }
  }
  const metadata = properties.metadata;
  if (!isRecord(metadata)) return;
  if (metadata.type !== undefined && metadata.type !== 'object') {
    out.push({ path: child(at(props, 'metadata'), 'type'), message: `Invalid value: ${show(metadata.type)}: must be object` });
  }
  if (!root) return;
  // The server validates metadata itself; a schema may only narrow the name. Descriptions are
  // documentation, and `default` gets its own error.
  const extra = Object.keys(metadata).filter((k) => !['type', 'description', 'title', 'properties', 'default'].includes(k));
  const fields = isRecord(metadata.properties) ? Object.keys(metadata.properties) : [];
  const extraFields = fields.filter((k) => k !== 'name' && k !== 'generateName').map((k) => `properties[${k}]`);
  const named = [...extra, ...extraFields];
  if (named.length > 0) {
    out.push({
      path: at(props, 'metadata'),
      message: `Forbidden: must not specify anything other than metadata.name and metadata.generateName (found ${named.join(', ')})`,
    });
  }
}

function checkExtensions(node: Json, path: string, out: CrdProblem[]): void {
  const listType = node['x-kubernetes-list-type'];
  const keys = node['x-kubernetes-list-map-keys'];
  if (listType !== undefined) {
    if (typeof listType !== 'string' || !LIST_TYPES.includes(listType)) {
      out.push({ path: child(path, 'x-kubernetes-list-type'), message: `Unsupported value: ${show(listType)}: supported values: ${supported(LIST_TYPES)}` });
    } else if (node.type !== 'array') {
      out.push({ path: child(path, 'x-kubernetes-list-type'), message: `Invalid value: ${show(listType)}: must only be used if type is array` });
    }
  }
  if (listType === 'map' && (!Array.isArray(keys) || keys.length === 0)) {
    out.push({ path: child(path, 'x-kubernetes-list-map-keys'), message: 'Required value: must not be empty if x-kubernetes-list-type is map' });
  }
  if (Array.isArray(keys) && keys.length > 0 && listType !== 'map') {
    out.push({ path: child(path, 'x-kubernetes-list-type'), message: `Invalid value: ${show(listType)}: must be map if x-kubernetes-list-map-keys is non-empty` });
  }
  const mapType = node['x-kubernetes-map-type'];
  if (mapType !== undefined) {
    if (typeof mapType !== 'string' || !MAP_TYPES.includes(mapType)) {
      out.push({ path: child(path, 'x-kubernetes-map-type'), message: `Unsupported value: ${show(mapType)}: supported values: ${supported(MAP_TYPES)}` });
    } else if (node.type !== 'object') {
      out.push({ path: child(path, 'x-kubernetes-map-type'), message: `Invalid value: ${show(mapType)}: must only be used if type is object` });
    }
  }
}

function checkValidationRules(node: Json, path: string, out: CrdProblem[]): void {
  const rules = node['x-kubernetes-validations'];
  if (rules === undefined) return;
  const base = child(path, 'x-kubernetes-validations');
  if (!Array.isArray(rules)) {
    out.push({ path: base, message: `Invalid value: ${show(rules)}: must be a list of rules` });
    return;
  }
  rules.forEach((rule: unknown, i) => {
    const rulePath = at(base, i);
    if (!isRecord(rule)) {
      out.push({ path: rulePath, message: `Invalid value: ${show(rule)}: must be an object with a rule` });
      return;
    }
    const text = typeof rule.rule === 'string' ? rule.rule.trim() : '';
    if (text === '') out.push({ path: child(rulePath, 'rule'), message: 'Required value: a CEL rule is required' });
    const message = rule.message;
    if (message !== undefined) {
      if (typeof message !== 'string' || message.trim() === '') {
        out.push({ path: child(rulePath, 'message'), message: `Invalid value: ${show(message)}: message must be non-empty if specified` });
      } else if (/[\r\n]/.test(message)) {
        out.push({ path: child(rulePath, 'message'), message: `Invalid value: ${show(message)}: message must not contain line breaks` });
      }
    } else if (/[\r\n]/.test(text)) {
      // The default message quotes the rule, and messages are single lines.
      out.push({ path: child(rulePath, 'message'), message: 'Required value: message must be specified if rule contains line breaks' });
    }
    if (rule.reason !== undefined && (typeof rule.reason !== 'string' || !VALIDATION_REASONS.includes(rule.reason))) {
      out.push({ path: child(rulePath, 'reason'), message: `Unsupported value: ${show(rule.reason)}: supported values: ${supported(VALIDATION_REASONS)}` });
    }
    if (rule.fieldPath !== undefined) {
      const problem = fieldPathProblem(node, rule.fieldPath);
      if (problem) out.push({ path: child(rulePath, 'fieldPath'), message: `Invalid value: ${show(rule.fieldPath)}: ${problem}` });
    }
  });
}

/** Why a rule's `fieldPath` is unusable: it must be a relative path (`.a.b`, `.m['k.x']`) to a declared field. */
function fieldPathProblem(node: Json, fieldPath: unknown): string | undefined {
  if (typeof fieldPath !== 'string' || fieldPath.trim() === '') return 'fieldPath must be non-empty if specified';
  if (/[\r\n]/.test(fieldPath)) return 'fieldPath must not contain line breaks';
  if (!fieldPath.startsWith('.') && !fieldPath.startsWith('[')) return 'fieldPath must be a relative JSON path starting with "."';
  const segments: string[] = [];
  const segment = /\.([^.[\]]+)|\['([^']*)'\]|\[([^\]]*)\]/y;
  let pos = 0;
  while (pos < fieldPath.length) {
    segment.lastIndex = pos;
    const m = segment.exec(fieldPath);
    if (!m) return `fieldPath is not a valid JSON path at ${JSON.stringify(fieldPath.slice(pos))}`;
    if (m[3] !== undefined) return 'fieldPath must not use list indices or unquoted keys';
    segments.push(m[1] ?? m[2]!);
    pos = segment.lastIndex;
  }
  let current: Json = node;
  for (const name of segments) {
    const props = isRecord(current.properties) ? current.properties : {};
    const next = props[name] ?? current.additionalProperties;
    if (isRecord(next)) {
      current = next;
      continue;
    }
    // Below preserved unknown fields nothing is declared, so nothing can be checked.
    if (current['x-kubernetes-preserve-unknown-fields'] === true) return undefined;
    return `fieldPath must refer to a field declared in the schema (no ${JSON.stringify(name)} here)`;
  }
  return undefined;
}

function checkDefault(node: Json, path: string, scope: Scope, out: CrdProblem[]): void {
  if (node.default === undefined) return;
  const defaultPath = child(path, 'default');
  if (scope.noDefaults !== undefined) {
    out.push({ path: defaultPath, message: `Forbidden: must not be set ${scope.noDefaults}` });
    return;
  }
  // Wrapped in a one-field object so the validator's messages name the default (`default.port`) instead of an empty path.
  const wrapper: JsonSchema = { type: 'object', properties: { default: node as JsonSchema } };
  for (const error of validateSchema(wrapper, { default: node.default })) {
    out.push({ path: defaultPath, message: `Invalid value: ${show(node.default)}: does not validate against its own schema: ${formatSchemaError(error)}` });
  }
}

/** `anyOf: [{type: integer}, {type: string}]`, the one place a junctor may hold types (the int-or-string shape). */
function isIntOrStringAnyOf(anyOf: unknown): boolean {
  return (
    Array.isArray(anyOf) &&
    anyOf.length === 2 &&
    isRecord(anyOf[0]) && Object.keys(anyOf[0]).length === 1 && anyOf[0].type === 'integer' &&
    isRecord(anyOf[1]) && Object.keys(anyOf[1]).length === 1 && anyOf[1].type === 'string'
  );
}

/** The junctor branches of a node, without the two int-or-string shapes the server exempts. */
function junctorBranches(node: Json, path: string): [unknown, string][] {
  const branches: [unknown, string][] = [];
  for (const junctor of JUNCTORS) {
    const list = node[junctor];
    // A junctor that is not a list is reported by checkKeywords.
    if (!Array.isArray(list)) continue;
    if (junctor === 'anyOf' && isIntOrStringAnyOf(list)) continue;
    list.forEach((branch: unknown, i) => {
      if (junctor === 'allOf' && i === 0 && isRecord(branch) && Object.keys(branch).length === 1 && isIntOrStringAnyOf(branch.anyOf)) return;
      branches.push([branch, at(child(path, junctor), i)]);
    });
  }
  if (node.not !== undefined) branches.push([node.not, child(path, 'not')]);
  return branches;
}

const JUNCTOR_FORBIDDEN: [string, (v: unknown) => boolean][] = [
  ['description', (v) => v !== undefined && v !== ''],
  ['title', (v) => v !== undefined && v !== ''],
  ['type', (v) => v !== undefined && v !== ''],
  ['default', (v) => v !== undefined],
  ['additionalProperties', (v) => v !== undefined],
  ['nullable', (v) => v === true],
  ['x-kubernetes-preserve-unknown-fields', (v) => v === true],
  ['x-kubernetes-embedded-resource', (v) => v === true],
  ['x-kubernetes-int-or-string', (v) => v === true],
  ['x-kubernetes-list-type', (v) => v !== undefined],
  ['x-kubernetes-list-map-keys', (v) => Array.isArray(v) && v.length > 0],
  ['x-kubernetes-map-type', (v) => v !== undefined],
  ['x-kubernetes-validations', (v) => Array.isArray(v) && v.length > 0],
];

/** Inside allOf/anyOf/oneOf/not only value validations are allowed: the structure lives outside. */
function checkInJunctor(node: unknown, path: string, out: CrdProblem[]): void {
  if (!isRecord(node)) {
    out.push({ path, message: `Invalid value: ${show(node)}: must be a schema object` });
    return;
  }
  checkKeywords(node, path, out);
  for (const [key, set] of JUNCTOR_FORBIDDEN) {
    if (set(node[key])) out.push({ path: child(path, key), message: `Forbidden: ${key} must not be set inside allOf, anyOf, oneOf or not; declare it outside` });
  }
  if (isRecord(node.properties)) {
    for (const [name, sub] of Object.entries(node.properties)) checkInJunctor(sub, at(child(path, 'properties'), name), out);
  }
  if (isRecord(node.items)) checkInJunctor(node.items, child(path, 'items'), out);
  for (const [branch, branchPath] of junctorBranches(node, path)) checkInJunctor(branch, branchPath, out);
}

/** Every field and items a junctor branch names must also be declared in the structural node `s`. */
function checkCompleteness(v: unknown, s: Json, sPath: string, vPath: string, out: CrdProblem[]): void {
  if (!isRecord(v)) return;
  for (const [branch, branchPath] of junctorBranches(v, vPath)) checkCompleteness(branch, s, sPath, branchPath, out);
  if (isRecord(v.items)) {
    if (isRecord(s.items)) checkCompleteness(v.items, s.items, child(sPath, 'items'), child(vPath, 'items'), out);
    else out.push({ path: child(sPath, 'items'), message: `Required value: must be specified because ${child(vPath, 'items')} uses it` });
  }
  if (!isRecord(v.properties)) return;
  const declared = isRecord(s.properties) ? s.properties : {};
  for (const [name, sub] of Object.entries(v.properties)) {
    const outside = declared[name];
    const vField = at(child(vPath, 'properties'), name);
    if (isRecord(outside)) checkCompleteness(sub, outside, at(child(sPath, 'properties'), name), vField, out);
    else if (isRecord(s.additionalProperties)) checkCompleteness(sub, s.additionalProperties, child(sPath, 'additionalProperties'), vField, out);
    else out.push({ path: at(child(sPath, 'properties'), name), message: `Required value: must be specified because ${vField} names it` });
  }
}

function checkPrinterColumns(columns: unknown, path: string, out: CrdProblem[]): void {
  if (columns === undefined || columns === null) return;
  if (!Array.isArray(columns)) {
    out.push({ path, message: `Invalid value: ${show(columns)}: must be a list of columns` });
    return;
  }
  const seen = new Set<string>();
  columns.forEach((column: unknown, i) => {
    const colPath = at(path, i);
    if (!isRecord(column)) {
      out.push({ path: colPath, message: `Invalid value: ${show(column)}: must be an object` });
      return;
    }
    const { name, type, format, jsonPath } = column;
    if (typeof name !== 'string' || name === '') {
      out.push({ path: child(colPath, 'name'), message: 'Required value: a column needs a name' });
    } else if (seen.has(name)) {
      out.push({ path: child(colPath, 'name'), message: `Duplicate value: ${show(name)}` });
    } else {
      seen.add(name);
    }
    if (type === undefined || type === '') {
      out.push({ path: child(colPath, 'type'), message: `Required value: must be one of ${supported(COLUMN_TYPES)}` });
    } else if (typeof type !== 'string' || !COLUMN_TYPES.includes(type)) {
      out.push({ path: child(colPath, 'type'), message: `Unsupported value: ${show(type)}: supported values: ${supported(COLUMN_TYPES)}` });
    }
    if (format !== undefined && format !== '' && (typeof format !== 'string' || !COLUMN_FORMATS.includes(format))) {
      out.push({ path: child(colPath, 'format'), message: `Unsupported value: ${show(format)}: supported values: ${supported(COLUMN_FORMATS)}` });
    }
    if (typeof jsonPath !== 'string' || jsonPath === '') {
      out.push({ path: child(colPath, 'jsonPath'), message: 'Required value: a column needs a jsonPath' });
    } else if (!jsonPath.startsWith('.')) {
      out.push({ path: child(colPath, 'jsonPath'), message: `Invalid value: ${show(jsonPath)}: must be a simple json path starting with .` });
    }
  });
}

function checkSubresources(subresources: unknown, path: string, out: CrdProblem[]): void {
  if (!isRecord(subresources)) return;
  const status = subresources.status;
  if (status !== undefined && status !== null && (!isRecord(status) || Object.keys(status).length > 0)) {
    out.push({ path: child(path, 'status'), message: `Invalid value: ${show(status)}: the status subresource takes no settings; must be {}` });
  }
  const scale = subresources.scale;
  if (scale === undefined || scale === null) return;
  if (!isRecord(scale)) {
    out.push({ path: child(path, 'scale'), message: `Invalid value: ${show(scale)}: must be an object` });
    return;
  }
  const scalePath = (name: string, required: boolean, prefixes: string[]) => {
    const value = scale[name];
    const fieldPath = `${path}.scale.${name}`;
    if (value === undefined || value === '') {
      if (required) out.push({ path: fieldPath, message: 'Required value' });
    } else if (typeof value !== 'string' || !prefixes.some((p) => value.startsWith(`${p}.`))) {
      out.push({ path: fieldPath, message: `Invalid value: ${show(value)}: should be a json path under ${prefixes.join(' or ')}` });
    }
  };
  scalePath('specReplicasPath', true, ['.spec']);
  scalePath('statusReplicasPath', true, ['.status']);
  scalePath('labelSelectorPath', false, ['.spec', '.status']);
}
