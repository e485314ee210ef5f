// Shapes of the Kubernetes objects the test API server stores, and of the kinds it serves.
import type { CrdPrinterColumn, JsonSchema } from '../../../src/kube/openapi.js';

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Record<string, unknown>[];
  [key: string]: unknown;
}

/** Any stored object. Stored objects are never mutated in place: writes replace them. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** A cell-producing column of a `meta.k8s.io/v1 Table`. */
export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  cell: (obj: KubeObject, now: number) => unknown;
}

/** Converts between a served version's shape and the shape in storage (events.k8s.io ↔ core Events). */
export interface StorageConversion {
  toStorage(obj: KubeObject): KubeObject;
  fromStorage(obj: KubeObject): KubeObject;
}

/** One served resource: a group/version/plural and everything the server needs to handle it. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Resources sharing storage (core and events.k8s.io Events) share this key. */
  storageKey: string;
  conversion?: StorageConversion;
  /** Structural schema: validation (422 for CRs, 400 for built-ins) and pruning of unknown fields. */
  schema?: JsonSchema;
  hasStatusSubresource: boolean;
  /** Whether `metadata.generation` is maintained. */
  tracksGeneration: boolean;
  /** Fields whose changes do not bump generation (besides metadata). */
  generationIgnores: string[];
  /** Custom resources reject strategic merge patches; built-ins accept them. */
  custom: boolean;
  columns: TableColumn[];
  printerColumns?: CrdPrinterColumn[];
  /** Extra validation of a built-in kind, returning field errors (`path`, `message`). */
  validate?: (obj: KubeObject) => { path: string; message: string }[];
  /** Verbs in discovery (default: all eight). */
  verbs?: string[];
  /** Not stored: an access review answered by the authorizer (create only). */
  accessReview?: 'self' | 'subject';
  /** Normalises fields the real server re-serialises (timestamps) before storing. */
  normalize?: (obj: KubeObject) => void;
}

export function groupVersion(rt: { group: string; version: string }): string {
  return rt.group === '' ? rt.version : `${rt.group}/${rt.version}`;
}

/** `plural` for the core group, `plural.group` otherwise: how the server names a resource in messages. */
export function qualifiedResource(rt: { group: string; plural: string }): string {
  return rt.group === '' ? rt.plural : `${rt.plural}.${rt.group}`;
}

/** `Kind` for the core group, `Kind.group` otherwise: how the server names a kind in 422 messages. */
export function qualifiedKind(rt: { group: string; kind: string }): string {
  return rt.group === '' ? rt.kind : `${rt.kind}.${rt.group}`;
}

export { isRecord } from '../../../src/kube/types.js';
