// ObjectMeta handling: decoding checks (400), validation (422), server-owned fields, key order.
import { randomBytes } from 'node:crypto';
import { badRequest, type FieldError } from './errors.js';
import { isRecord, type KubeObject, type ObjectMeta, type ResourceType } from './types.js';
import { dnsLabelErrors, dnsSubdomainErrors, qualifiedNameErrors, validateAnnotations, validateLabels } from './validation.js';

/** ObjectMeta's fields in the order the real server serialises them; anything else is dropped. */
const META_FIELDS = [
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
] as const;

const STRING_FIELDS = ['name', 'generateName', 'namespace', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'selfLink'];

function goType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return 'number';
  return typeof value;
}

/** Decode-time shape checks of metadata: wrong JSON types are 400 errors, as Go's decoder reports them. */
export function decodeMetadata(rt: ResourceType, raw: unknown): ObjectMeta {
  const fail = (field: string, value: unknown, want: string) =>
    badRequest(
      `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: json: cannot unmarshal ${goType(value)} into Go struct field ObjectMeta.metadata.${field} of type ${want}`,
    );
  if (raw === undefined || raw === null) return {};
  if (!isRecord(raw)) {
    throw badRequest(
      `${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: json: cannot unmarshal ${goType(raw)} into Go struct field ${rt.kind}.metadata of type v1.ObjectMeta`,
    );
  }
  const meta: ObjectMeta = {};
  for (const field of META_FIELDS) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    if (STRING_FIELDS.includes(field) && typeof value !== 'string') throw fail(field, value, 'string');
    if ((field === 'generation' || field === 'deletionGracePeriodSeconds') && (typeof value !== 'number' || !Number.isInteger(value))) {
      throw fail(field, value, 'int64');
    }
    if (field === 'labels' || field === 'annotations') {
      if (!isRecord(value)) throw fail(field, value, 'map[string]string');
      for (const v of Object.values(value)) if (typeof v !== 'string') throw fail(field, v, 'string');
    }
    if (field === 'finalizers') {
      if (!Array.isArray(value)) throw fail(field, value, '[]string');
      for (const v of value) if (typeof v !== 'string') throw fail(field, v, 'string');
    }
    if (field === 'ownerReferences' || field === 'managedFields') {
      if (!Array.isArray(value)) throw fail(field, value, `[]v1.${field === 'ownerReferences' ? 'OwnerReference' : 'ManagedFieldsEntry'}`);
      for (const v of value) if (!isRecord(v)) throw fail(field, v, 'v1.OwnerReference');
    }
    (meta as Record<string, unknown>)[field] = value;
  }
  return meta;
}

/** Validation of ObjectMeta (422). */
export function validateMetadata(rt: ResourceType, meta: ObjectMeta): FieldError[] {
  const errors: FieldError[] = [];
  const name = meta.name ?? '';
  if (name === '') {
    errors.push({ path: 'metadata.name', message: 'Required value: name or generateName is required' });
  } else {
    const nameErrors = rt.kind === 'Namespace' && rt.group === '' ? dnsLabelErrors(name) : dnsSubdomainErrors(name);
    for (const e of nameErrors) errors.push({ path: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${e}` });
  }
  if (meta.labels) errors.push(...validateLabels(meta.labels, 'metadata.labels'));
  if (meta.annotations) errors.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  (meta.finalizers ?? []).forEach((f, i) => {
    for (const e of qualifiedNameErrors(f)) errors.push({ path: `metadata.finalizers[${i}]`, message: `Invalid value: ${JSON.stringify(f)}: ${e}` });
  });
  return errors;
}

const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** apiserver's SimpleNameGenerator: prefix (cut to 58 chars) plus 5 random characters. */
export function generateName(prefix: string): string {
  const bytes = randomBytes(5);
  let suffix = '';
  for (const b of bytes) suffix += NAME_ALPHABET[b % NAME_ALPHABET.length];
  return prefix.slice(0, 58) + suffix;
}

/** A new object with metadata keys in ObjectMeta order and apiVersion, kind, metadata first. */
export function orderObject(obj: KubeObject, sortAll: boolean): KubeObject {
  const meta: Record<string, unknown> = {};
  for (const field of META_FIELDS) {
    const v = obj.metadata[field];
    if (v !== undefined) meta[field] = field === 'labels' || field === 'annotations' ? sortKeys(v) : v;
  }
  const head: Record<string, unknown> = {};
  if (obj.apiVersion !== undefined) head.apiVersion = obj.apiVersion;
  if (obj.kind !== undefined) head.kind = obj.kind;
  head.metadata = meta;
  const out = head as KubeObject;
  // Custom resources are maps on the server: Go's encoder prints their keys sorted.
  const rest = Object.keys(obj).filter((k) => k !== 'apiVersion' && k !== 'kind' && k !== 'metadata');
  if (sortAll) rest.sort();
  for (const key of rest) out[key] = sortAll ? sortKeysDeep(obj[key]) : obj[key];
  return out;
}

function sortKeys(v: unknown): unknown {
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = v[k];
  return out;
}

function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort()) out[k] = sortKeysDeep(v[k]);
  return out;
}
