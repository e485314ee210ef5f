// What the test API server does with a CRD schema besides validating it: prune unknown fields and
// apply defaults (in the order the server applies them on a write), and read CRDs from YAML files.
// The validator itself is the operator's own (src/kube/openapi.ts).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { pathString, ROOT_FIELDS, type CustomResourceDefinition, type JsonSchema, type PathNode } from '../../../src/kube/openapi.js';
import { isRecord } from '../../../src/kube/types.js';

/**
 * Returns a copy of `value` without the fields `schema` does not declare, as the API server stores
 * it. When `dropped` is given, the paths of the removed fields are appended to it (the server's
 * "unknown field" warnings), in the format of SchemaError paths.
 */
export function pruneUnknownFields(schema: unknown, value: unknown, dropped?: string[]): unknown {
  if (!isRecord(schema)) throw new TypeError('schema must be an object (a CRD openAPIV3Schema)');
  return prune(schema as JsonSchema, value, true, null, dropped);
}

function prune(schema: JsonSchema, value: unknown, root: boolean, path: PathNode | null, dropped: string[] | undefined): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items ? value.map((item, i) => prune(items, item, false, dropped ? { parent: path, key: i } : null, dropped)) : structuredCloneJson(value);
  }
  if (!isRecord(value)) return value;
  const properties = schema.properties;
  const additional = schema.additionalProperties;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true || additional === true;
  const embedded = schema['x-kubernetes-embedded-resource'] === true;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = value[key];
    const sub = properties?.[key];
    const child = () => (dropped ? { parent: path, key } : null);
    if ((root || embedded) && ROOT_FIELDS.has(key)) {
      out[key] = structuredCloneJson(field);
    } else if (sub) {
      out[key] = prune(sub, field, false, child(), dropped);
    } else if (isRecord(additional)) {
      out[key] = prune(additional as JsonSchema, field, false, child(), dropped);
    } else if (preserve) {
      out[key] = structuredCloneJson(field);
    } else if (dropped) {
      dropped.push(pathString({ parent: path, key }));
    }
  }
  return out;
}

function structuredCloneJson(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(structuredCloneJson);
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = structuredCloneJson((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Applies `default`s to absent fields and drops `null`s of non-nullable fields that have no
 * default, like the API server's structural defaulting. Mutates and returns `value`.
 */
export function applyDefaults(schema: unknown, value: unknown): unknown {
  if (!isRecord(schema)) throw new TypeError('schema must be an object (a CRD openAPIV3Schema)');
  defaultInPlace(schema as JsonSchema, value);
  return value;
}

/** The properties of a schema node that have a default, computed once per node. */
const defaultedProperties = new WeakMap<JsonSchema, [string, unknown][]>();

function defaultsOf(schema: JsonSchema): [string, unknown][] {
  let list = defaultedProperties.get(schema);
  if (!list) {
    list = Object.entries(schema.properties ?? {})
      .filter(([, sub]) => sub.default !== undefined)
      .map(([key, sub]) => [key, sub.default]);
    defaultedProperties.set(schema, list);
  }
  return list;
}

function defaultInPlace(schema: JsonSchema, value: unknown): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) defaultInPlace(schema.items, item);
    return;
  }
  if (!isRecord(value)) return;
  const properties = schema.properties;
  for (const [key, fallback] of defaultsOf(schema)) {
    const current = value[key];
    if (current === undefined || (current === null && properties![key]!.nullable !== true)) value[key] = structuredCloneJson(fallback);
  }
  const additional = isRecord(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined;
  // Only the fields present need a visit: absent ones have no nulls and got their defaults above.
  for (const key of Object.keys(value)) {
    const sub = properties?.[key] ?? additional;
    if (!sub) continue;
    const current = value[key];
    if (current === null) {
      if (sub.nullable !== true) delete value[key];
    } else if (typeof current === 'object') {
      defaultInPlace(sub, current);
    }
  }
}

/**
 * Reads CRDs from YAML files (multi-document); a directory stands for its `*.yaml`/`*.yml`
 * files in name order. Documents that are not CRDs are skipped.
 */
export function loadCrdFiles(paths: string[]): CustomResourceDefinition[] {
  const crds: CustomResourceDefinition[] = [];
  for (const file of expandPaths(paths)) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
      const obj: unknown = doc.toJS({ maxAliasCount: -1 });
      if (!isRecord(obj) || obj.kind !== 'CustomResourceDefinition') continue;
      if (obj.apiVersion !== 'apiextensions.k8s.io/v1') {
        throw new Error(`${file}: only apiextensions.k8s.io/v1 CustomResourceDefinitions are supported`);
      }
      crds.push(obj as unknown as CustomResourceDefinition);
    }
  }
  return crds;
}

function expandPaths(paths: string[]): string[] {
  const files: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        if (name.endsWith('.yaml') || name.endsWith('.yml')) files.push(join(p, name));
      }
    } else {
      files.push(p);
    }
  }
  return files;
}
