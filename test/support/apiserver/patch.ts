// PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and the strategic merge patch
// subset kubectl sends for built-in kinds (maps, directives, lists merged by their known keys).
import { ApiError, badRequest } from './errors.js';
import { isRecord } from './types.js';
import { jsonEqual } from '../../../src/render/canonical.js';

export function deepCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(deepCopy) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = deepCopy((value as Record<string, unknown>)[key]);
  return out as T;
}

/** RFC 7386: objects merge recursively, `null` deletes, everything else replaces. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return deepCopy(patch);
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = applyMergePatch(out[key], value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

function patchFailed(message: string): ApiError {
  return new ApiError(422, 'Invalid', message);
}

function parsePointer(pointer: unknown): string[] {
  if (typeof pointer !== 'string') throw badRequest('json patch: "path" must be a string');
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw patchFailed(`json patch: invalid path ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function resolveParent(doc: unknown, tokens: string[], op: string): { parent: Container; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    node = child(node, token, op);
  }
  if (!isRecord(node) && !Array.isArray(node)) {
    throw patchFailed(`doc is missing path: "/${tokens.join('/')}": missing value`);
  }
  return { parent: node, key: tokens[tokens.length - 1]! };
}

function child(node: unknown, token: string, op: string): unknown {
  if (Array.isArray(node)) {
    const i = arrayIndex(token, node.length - 1, op);
    return node[i];
  }
  if (isRecord(node) && Object.prototype.hasOwnProperty.call(node, token)) return node[token];
  throw patchFailed(`doc is missing path: ${JSON.stringify(token)}: missing value`);
}

function arrayIndex(token: string, max: number, op: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw patchFailed(`Unable to access invalid index: ${token}: invalid index referenced`);
  const i = Number(token);
  if (i > max) throw patchFailed(`Unable to ${op} index ${i}: index out of range`);
  return i;
}

function getAt(doc: unknown, tokens: string[]): unknown {
  let node = doc;
  for (const token of tokens) node = child(node, token, 'access');
  return node;
}

function removeAt(doc: unknown, tokens: string[]): unknown {
  if (tokens.length === 0) throw patchFailed('json patch: cannot remove the document root');
  const { parent, key } = resolveParent(doc, tokens, 'remove');
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length - 1, 'remove');
    return parent.splice(i, 1)[0];
  }
  if (!Object.prototype.hasOwnProperty.call(parent, key)) {
    throw patchFailed(`Unable to remove nonexistent key: ${key}: missing value`);
  }
  const value = parent[key];
  delete parent[key];
  return value;
}

function addAt(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, 'add');
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length, 'add'), 0, value);
  } else {
    parent[key] = value;
  }
  return doc;
}

function replaceAt(doc: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = resolveParent(doc, tokens, 'replace');
  if (Array.isArray(parent)) {
    parent[arrayIndex(key, parent.length - 1, 'replace')] = value;
  } else {
    if (!Object.prototype.hasOwnProperty.call(parent, key)) {
      throw patchFailed(`replace operation does not apply: doc is missing key: /${tokens.join('/')}: missing value`);
    }
    parent[key] = value;
  }
  return doc;
}

/** RFC 6902. Malformed operations are 400; operations that do not apply to the object are 422. */
export function applyJsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc = deepCopy(target);
  for (const op of ops) {
    if (!isRecord(op)) throw badRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    const tokens = parsePointer(op.path);
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw badRequest('json patch: add operation missing value');
        doc = addAt(doc, tokens, deepCopy(op.value));
        break;
      case 'remove':
        removeAt(doc, tokens);
        break;
      case 'replace':
        if (!('value' in op)) throw badRequest('json patch: replace operation missing value');
        doc = replaceAt(doc, tokens, deepCopy(op.value));
        break;
      case 'move': {
        const from = parsePointer(op.from);
        const value = removeAt(doc, from);
        doc = addAt(doc, tokens, value);
        break;
      }
      case 'copy': {
        const from = parsePointer(op.from);
        doc = addAt(doc, tokens, deepCopy(getAt(doc, from)));
        break;
      }
      case 'test': {
        const actual = tokens.length === 0 ? doc : getAt(doc, tokens);
        if (!jsonEqual(actual, op.value)) throw patchFailed(`testing value /${tokens.join('/')} failed: test failed`);
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch: the patch strategies of the built-in fields kubectl touches. Paths are
// dotted field names from the object root, list indices left out.

const PRIMITIVE_MERGE = Symbol('merge primitive list');
type ListStrategy = string | typeof PRIMITIVE_MERGE;

const LIST_STRATEGIES: Record<string, ListStrategy> = {
  'metadata.finalizers': PRIMITIVE_MERGE,
  'metadata.ownerReferences': 'uid',
  'spec.finalizers': PRIMITIVE_MERGE,
  'spec.ports': 'port',
  'secrets': 'name',
  'imagePullSecrets': 'name',
  'spec.template.spec.containers': 'name',
  'spec.template.spec.initContainers': 'name',
  'spec.template.spec.containers.ports': 'containerPort',
  'spec.template.spec.initContainers.ports': 'containerPort',
  'spec.template.spec.containers.env': 'name',
  'spec.template.spec.initContainers.env': 'name',
  'spec.template.spec.containers.volumeMounts': 'mountPath',
  'spec.template.spec.initContainers.volumeMounts': 'mountPath',
  'spec.template.spec.volumes': 'name',
  'spec.template.spec.imagePullSecrets': 'name',
  'spec.template.spec.tolerations': 'key',
  'status.conditions': 'type',
};

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const DELETE_FROM_PRIMITIVE = '$deleteFromPrimitiveList/';
const SET_ORDER = '$setElementOrder/';

export function applyStrategicMergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) throw badRequest('strategic merge patch must be a JSON object');
  return strategicMap(isRecord(target) ? target : {}, patch, '');
}

function strategicMap(target: Record<string, unknown>, patch: Record<string, unknown>, path: string): Record<string, unknown> {
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') {
    const out = deepCopy(patch);
    delete out[DIRECTIVE];
    return out;
  }
  if (directive !== undefined && directive !== 'merge' && directive !== 'delete') {
    throw badRequest(`Unknown patch type: ${String(directive)}`);
  }
  const out: Record<string, unknown> = { ...target };
  const retain = patch[RETAIN_KEYS];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE)) {
      const field = key.slice(DELETE_FROM_PRIMITIVE.length);
      if (Array.isArray(out[field]) && Array.isArray(value)) {
        out[field] = (out[field] as unknown[]).filter((v) => !value.includes(v));
      }
      continue;
    }
    const childPath = path === '' ? key : `${path}.${key}`;
    if (value === null) {
      delete out[key];
    } else if (isRecord(value)) {
      if (value[DIRECTIVE] === 'delete') delete out[key];
      else out[key] = strategicMap(isRecord(out[key]) ? (out[key] as Record<string, unknown>) : {}, value, childPath);
    } else if (Array.isArray(value)) {
      out[key] = strategicList(Array.isArray(out[key]) ? (out[key] as unknown[]) : [], value, childPath);
    } else {
      out[key] = value;
    }
  }
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function strategicList(target: unknown[], patch: unknown[], path: string): unknown[] {
  const strategy = LIST_STRATEGIES[path];
  if (strategy === undefined) {
    // Lists without a patch strategy are replaced, with `$patch: replace` markers dropped.
    return patch.filter((item) => !(isRecord(item) && item[DIRECTIVE] === 'replace')).map(deepCopy);
  }
  if (strategy === PRIMITIVE_MERGE) {
    const out = [...target];
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  if (patch.some((item) => isRecord(item) && item[DIRECTIVE] === 'replace')) {
    return patch.filter((item) => !(isRecord(item) && item[DIRECTIVE] === 'replace')).map(deepCopy);
  }
  const out = target.map((item) => item);
  for (const item of patch) {
    if (!isRecord(item)) {
      out.push(deepCopy(item));
      continue;
    }
    const index = out.findIndex((existing) => isRecord(existing) && existing[strategy] === item[strategy]);
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) out.splice(index, 1);
    } else if (index >= 0) {
      out[index] = strategicMap(out[index] as Record<string, unknown>, item, path);
    } else {
      const copy = deepCopy(item);
      delete copy[DIRECTIVE];
      out.push(copy);
    }
  }
  return out;
}
