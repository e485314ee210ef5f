// The API's write and read semantics over the store: create/get/list/update/patch/delete with
// resourceVersion preconditions, generation, status subresource, finalizers, namespace and CRD
// lifecycles, pruning and schema validation of custom resources.
import { randomUUID } from 'node:crypto';
import { YAMLParseError, parse as parseYaml } from 'yaml';
import { validateSchema, type CustomResourceDefinition, type SchemaError } from '../../../src/kube/openapi.js';
import { applyDefaults, pruneUnknownFields } from './crd-schema.js';
import { CEL_RULES } from '../cel.js';
import type { AdmissionController, AdmissionOperation } from './admission.js';
import { immutableFieldErrors } from './builtins.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  forbidden,
  invalid,
  methodNotAllowed,
  MODIFIED_CONFLICT,
  notFound,
  unsupportedMediaType,
  type FieldError,
} from './errors.js';
import { decodeMetadata, generateName, orderObject, validateMetadata } from './metadata.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, deepCopy } from './patch.js';
import { defaultCrd, establishedCrdStatus, validateCrd, type ResourceCatalog } from './resources.js';
import { parseFieldSelector, parseLabelSelector } from './selectors.js';
import type { UserInfo } from './requestlog.js';
import { objectKey, type ObjectStore } from './store.js';
import { groupVersion, isRecord, type KubeObject, type ObjectMeta, type ResourceType } from './types.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  /** Who asks: writes with a user go through admission (ValidatingAdmissionPolicies); in-process writes do not. */
  user?: UserInfo;
}

/** The user the namespace controller deletes a terminating namespace's content as. */
export const NAMESPACE_CONTROLLER: UserInfo = {
  name: 'system:serviceaccount:kube-system:namespace-controller',
  groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'],
};


export interface WriteResult {
  code: number;
  body: unknown;
  warnings: string[];
}

export interface ListQuery {
  labelSelector?: string | null;
  fieldSelector?: string | null;
  limit?: number;
  continue?: string | null;
  resourceVersion?: string | null;
  resourceVersionMatch?: string | null;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const NAMESPACES = { group: '', plural: 'namespaces' };
const UNDELETABLE_NAMESPACES = new Set(['default', 'kube-system', 'kube-public']);
const NAMESPACE_FINALIZER = 'kubernetes';
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';
const CRD_STORAGE = 'apiextensions.k8s.io/customresourcedefinitions';
const NAMESPACE_STORAGE = '/namespaces';
/** How soon the namespace controller retries content it was refused to delete. */
const NAMESPACE_RETRY_MS = 500;

let lastSecond = -1;
let lastTimestamp = '';

/** metav1.Time now: RFC 3339 at second precision (formatted once per second). */
function nowTimestamp(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastTimestamp = new Date(second * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
  return lastTimestamp;
}

const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` })).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (isRecord(parsed) && parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string') {
      return parsed as unknown as ContinueToken;
    }
  } catch {
    // fall through
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** Everything but metadata (and status when it is a subresource) — what bumps `generation`. */
function generationContent(obj: KubeObject, ignores: string[]): string {
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(obj)) {
    if (key === 'metadata' || key === 'apiVersion' || key === 'kind' || ignores.includes(key)) continue;
    rest[key] = obj[key];
  }
  return canonical(rest);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isRecord(v)) {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => v[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function withoutResourceVersion(obj: KubeObject): string {
  return canonical({ ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } });
}

function schemaErrorsToFieldErrors(errors: SchemaError[]): FieldError[] {
  return errors.map((e) => ({ path: e.path, message: e.message }));
}

export class ObjectRegistry {
  /** Timers of namespace and CRD cleanup still to run; cleared on stop. */
  private readonly pending = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly catalog: ResourceCatalog,
    private readonly options: { namespaceDeletionDelayMs: number; onResourcesRemoved?: (types: ResourceType[]) => void; admission?: AdmissionController },
  ) {}

  /**
   * Validating admission of a write by `opts.user` (none for in-process writes): the warnings of
   * `Warn` bindings, or the denial thrown.
   */
  private admit(
    rt: ResourceType,
    opts: WriteOptions,
    operation: AdmissionOperation,
    object: KubeObject | null,
    oldObject: KubeObject | null,
    subresource?: string,
  ): string[] {
    if (!opts.user || !this.options.admission) return [];
    const meta = (object ?? oldObject)!.metadata;
    return this.options.admission.validate({
      operation,
      user: opts.user,
      rt,
      ...(subresource !== undefined ? { subresource } : {}),
      ...(rt.namespaced && meta.namespace ? { namespace: meta.namespace } : {}),
      name: meta.name ?? '',
      object: object && this.toView(rt, object),
      oldObject: oldObject && this.toView(rt, oldObject),
      dryRun: opts.dryRun ?? false,
    });
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.pending.values()) clearTimeout(t);
    this.pending.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  toView(rt: ResourceType, obj: KubeObject): KubeObject {
    return rt.conversion ? rt.conversion.fromStorage(obj) : obj;
  }

  private stored(rt: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(rt.storageKey, objectKey(rt.namespaced ? namespace : undefined, name));
  }

  get(rt: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const obj = this.stored(rt, namespace, name);
    if (!obj) throw notFound(rt, name);
    return this.toView(rt, obj);
  }

  list(rt: ResourceType, namespace: string | undefined, query: ListQuery): ListResult {
    const labels = parseLabelSelector(query.labelSelector);
    const fields = parseFieldSelector(query.fieldSelector, rt.conversion ? 'Event' : rt.kind);
    const current = this.store.currentRevision();
    let revision = current;
    let objects: KubeObject[] | undefined;
    let startKey = '';
    if (query.continue) {
      const token = decodeContinue(query.continue);
      revision = token.rv;
      startKey = token.start;
      objects = this.store.snapshotAt(rt.storageKey, revision);
      if (!objects) throw expired(EXPIRED_CONTINUE);
    } else if (query.resourceVersion && query.resourceVersion !== '0' && query.resourceVersionMatch === 'Exact') {
      revision = this.parseRevision(query.resourceVersion);
      objects = this.store.snapshotAt(rt.storageKey, revision);
      if (!objects) throw expired(`too old resource version: ${revision} (${this.store.oldestWatchableRevision() + 1})`);
    } else {
      if (query.resourceVersion) this.parseRevision(query.resourceVersion);
      objects = this.store.list(rt.storageKey);
    }
    const limit = query.limit && query.limit > 0 ? query.limit : Infinity;
    const items: KubeObject[] = [];
    let lastKey = '';
    let remaining = 0;
    let more = false;
    for (const obj of objects) {
      const key = objectKey(obj.metadata.namespace, obj.metadata.name!);
      if (key < startKey) continue;
      if (rt.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) continue;
      if (!labels(obj.metadata.labels) || !fields(obj)) continue;
      if (items.length >= limit) {
        more = true;
        remaining++;
        continue;
      }
      items.push(obj);
      lastKey = key;
    }
    const result: ListResult = { items: items.map((o) => this.toView(rt, o)), resourceVersion: String(revision) };
    if (more) {
      result.continue = encodeContinue(revision, lastKey);
      if (!query.labelSelector && !query.fieldSelector) result.remainingItemCount = remaining;
    }
    return result;
  }

  parseRevision(text: string): number {
    if (!/^\d+$/.test(text)) throw badRequest(`invalid resource version: ${JSON.stringify(text)}`);
    return Number(text);
  }

  // -------------------------------------------------------------------------------------------
  // Decoding a request body into the resource's (view) shape: 400 for undecodable input,
  // unknown fields reported per fieldValidation then pruned, defaults applied.

  private decode(rt: ResourceType, body: unknown, opts: WriteOptions, warnings: string[]): KubeObject {
    if (!isRecord(body)) {
      throw badRequest(`couldn't get version/kind; json parse error: json: cannot unmarshal ${Array.isArray(body) ? 'array' : typeof body} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
    }
    const gv = groupVersion(rt);
    if (body.apiVersion !== undefined && body.apiVersion !== gv) {
      if (typeof body.apiVersion !== 'string') throw badRequest(`couldn't get version/kind; json parse error: apiVersion must be a string`);
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${gv})`);
    }
    if (body.kind !== undefined && body.kind !== rt.kind) {
      throw badRequest(`the kind in the data (${String(body.kind)}) does not match the expected kind (${rt.kind})`);
    }
    if (rt.custom && (body.kind === undefined || body.kind === '')) {
      throw badRequest(`Object 'Kind' is missing in '${JSON.stringify(body).slice(0, 512)}'`);
    }
    const metadata = decodeMetadata(rt, body.metadata);
    let obj: KubeObject = { ...body, apiVersion: gv, kind: rt.kind, metadata };
    if (rt.schema) {
      const dropped: string[] = [];
      obj = pruneUnknownFields(rt.schema, obj, dropped) as KubeObject;
      obj.metadata = metadata;
      const validation = opts.fieldValidation ?? 'Warn';
      if (dropped.length > 0 && validation !== 'Ignore') {
        const unknown = dropped.map((p) => `unknown field "${p}"`);
        if (validation === 'Strict') throw badRequest(`strict decoding error: ${unknown.join(', ')}`);
        warnings.push(...unknown);
      }
      if (!rt.custom) {
        // Built-ins are Go structs: a value of the wrong type cannot be decoded at all (400, not 422).
        const typeError = validateSchema(rt.schema, obj, { unknownFields: 'ignore' })[0];
        if (typeError) {
          throw badRequest(`${rt.kind} in version "${rt.version}" cannot be handled as a ${rt.kind}: ${typeError.path}: ${typeError.message}`);
        }
      }
      applyDefaults(rt.schema, obj);
    }
    return obj;
  }

  /** Validation after the server has set its fields (422). */
  private validate(rt: ResourceType, obj: KubeObject, previous?: KubeObject): void {
    const errors: FieldError[] = validateMetadata(rt, obj.metadata);
    const view = this.toView(rt, obj);
    if (rt.custom && rt.schema) errors.push(...schemaErrorsToFieldErrors(validateSchema(rt.schema, view, { unknownFields: 'ignore', cel: CEL_RULES })));
    if (rt.validate) errors.push(...rt.validate(view));
    if (rt.group === 'apiextensions.k8s.io' && rt.kind === 'CustomResourceDefinition') {
      errors.push(...validateCrd(obj));
      const spec = obj.spec as CustomResourceDefinition['spec'] | undefined;
      if (errors.length === 0 && spec && !previous && this.catalog.collidesWithBuiltin(spec.group, spec.names.plural)) {
        errors.push({ path: 'spec.names.plural', message: `Invalid value: ${JSON.stringify(spec.names.plural)}: is already served by a built-in resource` });
      }
    }
    if (previous) errors.push(...immutableFieldErrors(rt, previous, obj));
    if (errors.length > 0) throw invalid(rt, obj.metadata.name ?? '', errors);
  }

  private requireNamespace(rt: ResourceType, namespace: string, name: string): void {
    const ns = this.store.get(NAMESPACE_STORAGE, namespace);
    if (!ns) throw notFound(NAMESPACES, namespace);
    if (ns.metadata.deletionTimestamp !== undefined) {
      throw forbidden(rt, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  private requireServedCrd(rt: ResourceType): void {
    if (!rt.custom) return;
    const crd = this.store.get(CRD_STORAGE, `${rt.plural}.${rt.group}`);
    if (crd?.metadata.deletionTimestamp !== undefined) {
      throw new ApiError(405, 'MethodNotAllowed', `create not allowed while custom resource definition is terminating`);
    }
  }

  private finish(rt: ResourceType, obj: KubeObject): KubeObject {
    return orderObject(obj, rt.custom);
  }

  // -------------------------------------------------------------------------------------------
  // Writes

  create(rt: ResourceType, namespace: string | undefined, body: unknown, opts: WriteOptions = {}): WriteResult {
    const warnings: string[] = [];
    const view = this.decode(rt, body, opts, warnings);
    const meta = view.metadata;
    if (rt.namespaced) {
      if (namespace === undefined) throw methodNotAllowed();
      if (meta.namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else {
      delete meta.namespace;
    }
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    if (rt.namespaced) this.requireNamespace(rt, namespace!, meta.name ?? '');
    this.requireServedCrd(rt);

    const obj = rt.conversion ? rt.conversion.toStorage(view) : view;
    const m = obj.metadata;
    m.uid = randomUUID();
    m.creationTimestamp = nowTimestamp();
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.managedFields;
    delete m.selfLink;
    if (rt.tracksGeneration) m.generation = 1;
    else delete m.generation;
    this.prepareForCreate(rt, obj);
    rt.normalize?.(obj);
    this.validate(rt, obj);
    warnings.push(...this.admit(rt, opts, 'CREATE', obj, null));
    if (this.stored(rt, namespace, m.name!)) throw alreadyExists(rt, m.name!);
    if (opts.dryRun) return { code: 201, body: this.toView(rt, this.finish(rt, obj)), warnings };

    const revision = this.store.nextRevision();
    m.resourceVersion = String(revision);
    const final = this.finish(rt, obj);
    this.store.commit('ADDED', rt.storageKey, final, revision);
    this.afterWrite(rt, final);
    return { code: 201, body: this.toView(rt, final), warnings };
  }

  private prepareForCreate(rt: ResourceType, obj: KubeObject): void {
    if (rt.custom && rt.hasStatusSubresource) delete obj.status;
    if (rt.group === '' && rt.kind === 'Namespace') {
      obj.spec = { finalizers: [NAMESPACE_FINALIZER] };
      obj.status = { phase: 'Active' };
    } else if (!rt.custom && rt.hasStatusSubresource) {
      obj.status = {};
    }
    if (rt.group === 'apiextensions.k8s.io' && rt.kind === 'CustomResourceDefinition') {
      defaultCrd(obj);
      const finalizers = obj.metadata.finalizers ?? [];
      if (!finalizers.includes(CRD_CLEANUP_FINALIZER)) obj.metadata.finalizers = [...finalizers, CRD_CLEANUP_FINALIZER];
    }
  }

  update(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    body: unknown,
    subresource: string | undefined,
    opts: WriteOptions = {},
  ): WriteResult {
    const warnings: string[] = [];
    const previous = this.stored(rt, namespace, name);
    if (!previous) throw notFound(rt, name);
    const view = this.decode(rt, body, opts, warnings);
    return this.replace(rt, namespace, name, previous, view, subresource, opts, warnings);
  }

  private replace(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    previous: KubeObject,
    view: KubeObject,
    subresource: string | undefined,
    opts: WriteOptions,
    warnings: string[],
  ): WriteResult {
    const meta = view.metadata;
    if (meta.name !== undefined && meta.name !== '' && meta.name !== name) {
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    if (rt.namespaced && meta.namespace && meta.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    if (meta.resourceVersion && meta.resourceVersion !== previous.metadata.resourceVersion) {
      throw conflict(rt, name, MODIFIED_CONFLICT);
    }
    if (meta.uid && meta.uid !== previous.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${meta.uid}, UID in object meta: ${previous.metadata.uid}`);
    }
    const incoming = rt.conversion ? rt.conversion.toStorage(view) : view;
    let next: KubeObject;
    if (subresource === 'status') {
      next = { ...previous, metadata: { ...previous.metadata } };
      if (incoming.status !== undefined) next.status = incoming.status;
      else delete next.status;
    } else if (subresource === 'finalize') {
      next = { ...previous, metadata: { ...previous.metadata } };
      const spec = isRecord(incoming.spec) ? incoming.spec : {};
      next.spec = { ...(isRecord(previous.spec) ? previous.spec : {}), finalizers: Array.isArray(spec.finalizers) ? spec.finalizers : [] };
    } else {
      next = { ...incoming, metadata: this.mergeMetadata(rt, previous.metadata, incoming.metadata) };
      if (rt.hasStatusSubresource) {
        if (previous.status !== undefined) next.status = previous.status;
        else delete next.status;
      }
      if (rt.group === '' && rt.kind === 'Namespace') next.spec = previous.spec;
      if (rt.group === 'apiextensions.k8s.io' && rt.kind === 'CustomResourceDefinition') defaultCrd(next);
    }
    const deleting = previous.metadata.deletionTimestamp !== undefined;
    if (deleting) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(previous.metadata.finalizers ?? []).includes(f));
      if (added.length > 0) {
        throw invalid(rt, name, [
          {
            path: 'metadata.finalizers',
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(', ')}}`,
          },
        ]);
      }
    }
    if (rt.tracksGeneration) {
      const changed = generationContent(previous, rt.generationIgnores) !== generationContent(next, rt.generationIgnores);
      next.metadata.generation = (previous.metadata.generation ?? 1) + (changed ? 1 : 0);
    }
    rt.normalize?.(next);
    this.validate(rt, next, previous);
    warnings.push(...this.admit(rt, opts, 'UPDATE', next, previous, subresource));

    next.metadata.resourceVersion = previous.metadata.resourceVersion;
    let final = this.finish(rt, next);
    const emptied = deleting && (final.metadata.finalizers ?? []).length === 0 && !this.hasSpecFinalizers(final);
    if (!emptied && withoutResourceVersion(final) === withoutResourceVersion(previous)) {
      return { code: 200, body: this.toView(rt, previous), warnings };
    }
    if (opts.dryRun) return { code: 200, body: this.toView(rt, final), warnings };
    const revision = this.store.nextRevision();
    final = { ...final, metadata: { ...final.metadata, resourceVersion: String(revision) } };
    if (emptied) {
      this.store.commit('DELETED', rt.storageKey, final, revision, previous);
      this.afterDelete(rt, final);
    } else {
      this.store.commit('MODIFIED', rt.storageKey, final, revision, previous);
      this.afterWrite(rt, final);
    }
    return { code: 200, body: this.toView(rt, final), warnings };
  }

  /** Metadata a client may change on update; the server keeps the rest. */
  private mergeMetadata(rt: ResourceType, previous: ObjectMeta, incoming: ObjectMeta): ObjectMeta {
    const meta: ObjectMeta = { ...incoming };
    meta.name = previous.name;
    if (rt.namespaced) meta.namespace = previous.namespace;
    else delete meta.namespace;
    meta.uid = previous.uid;
    meta.creationTimestamp = previous.creationTimestamp;
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (previous[field] !== undefined) (meta as Record<string, unknown>)[field] = previous[field];
      else delete meta[field];
    }
    delete meta.managedFields;
    delete meta.selfLink;
    return meta;
  }

  private hasSpecFinalizers(obj: KubeObject): boolean {
    return isRecord(obj.spec) && Array.isArray(obj.spec.finalizers) && obj.spec.finalizers.length > 0 && obj.kind === 'Namespace';
  }

  patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    contentType: string,
    rawBody: string,
    subresource: string | undefined,
    opts: WriteOptions = {},
  ): WriteResult {
    const accepted = rt.custom
      ? [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.apply]
      : [PATCH_TYPES.json, PATCH_TYPES.merge, PATCH_TYPES.strategic, PATCH_TYPES.apply];
    if (!(accepted as string[]).includes(contentType)) throw unsupportedMediaType(accepted);
    let patchBody: unknown;
    try {
      patchBody = contentType === PATCH_TYPES.apply ? parseYaml(rawBody) : JSON.parse(rawBody);
    } catch (e) {
      const why = e instanceof SyntaxError || e instanceof YAMLParseError ? e.message : String(e);
      throw badRequest(`error decoding patch: ${why}`);
    }
    const previous = this.stored(rt, namespace, name);
    if (!previous) {
      if (contentType === PATCH_TYPES.apply && subresource === undefined) {
        // Server-side apply creates what does not exist.
        const body = isRecord(patchBody) ? { ...patchBody, metadata: { ...(isRecord(patchBody.metadata) ? patchBody.metadata : {}), name } } : patchBody;
        return this.create(rt, namespace, body, opts);
      }
      throw notFound(rt, name);
    }
    const current = deepCopy(this.toView(rt, previous));
    let patched: unknown;
    switch (contentType) {
      case PATCH_TYPES.merge:
        patched = applyMergePatch(current, patchBody);
        break;
      case PATCH_TYPES.json:
        patched = applyJsonPatch(current, patchBody);
        break;
      case PATCH_TYPES.strategic:
        patched = applyStrategicMergePatch(current, patchBody);
        break;
      default:
        if (!isRecord(patchBody)) throw badRequest('error decoding patch: apply patch must be an object');
        // A simplified server-side apply: the applied configuration is merged like a merge patch
        // (no field ownership, so fields applied earlier and omitted now are kept).
        patched = applyMergePatch(current, patchBody);
    }
    if (!isRecord(patched)) throw new ApiError(422, 'Invalid', 'the patched object is not a JSON object');
    const warnings: string[] = [];
    const view = this.decode(rt, patched, opts, warnings);
    return this.replace(rt, namespace, name, previous, view, subresource, opts, warnings);
  }

  delete(rt: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}, opts: WriteOptions = {}): WriteResult {
    const previous = this.stored(rt, namespace, name);
    if (!previous) throw notFound(rt, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== previous.metadata.uid) {
      throw conflict(rt, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${previous.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== previous.metadata.resourceVersion) {
      throw conflict(
        rt,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${previous.metadata.resourceVersion}`,
      );
    }
    const isNamespace = rt.group === '' && rt.kind === 'Namespace';
    if (isNamespace && UNDELETABLE_NAMESPACES.has(name)) throw forbidden(rt, name, 'this namespace may not be deleted');
    const warnings = this.admit(rt, opts, 'DELETE', null, previous);
    const result = this.deleteStored(rt, previous, opts);
    return { ...result, warnings: [...warnings, ...result.warnings] };
  }

  /** Marks for deletion (finalizers pending) or removes `previous`. */
  private deleteStored(rt: ResourceType, previous: KubeObject, opts: WriteOptions): WriteResult {
    const isNamespace = rt.group === '' && rt.kind === 'Namespace';
    const pendingFinalizers = (previous.metadata.finalizers ?? []).length > 0 || this.hasSpecFinalizers(previous);
    if (pendingFinalizers) {
      if (previous.metadata.deletionTimestamp !== undefined) return { code: 200, body: this.toView(rt, previous), warnings: [] };
      const next: KubeObject = {
        ...previous,
        metadata: { ...previous.metadata, deletionTimestamp: nowTimestamp(), deletionGracePeriodSeconds: 0 },
      };
      if (isNamespace) next.status = { ...(isRecord(previous.status) ? previous.status : {}), phase: 'Terminating' };
      if (opts.dryRun) return { code: 200, body: this.toView(rt, next), warnings: [] };
      const revision = this.store.nextRevision();
      next.metadata.resourceVersion = String(revision);
      const final = this.finish(rt, next);
      this.store.commit('MODIFIED', rt.storageKey, final, revision, previous);
      this.afterWrite(rt, final);
      return { code: 200, body: this.toView(rt, final), warnings: [] };
    }
    const details: Record<string, unknown> = { name: previous.metadata.name };
    if (rt.group !== '') details.group = rt.group;
    details.kind = rt.plural;
    details.uid = previous.metadata.uid;
    const success = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
    if (opts.dryRun) return { code: 200, body: success, warnings: [] };
    const revision = this.store.nextRevision();
    const final = { ...previous, metadata: { ...previous.metadata, resourceVersion: String(revision) } };
    this.store.commit('DELETED', rt.storageKey, final, revision, previous);
    this.afterDelete(rt, final);
    return { code: 200, body: isNamespace ? this.toView(rt, final) : success, warnings: [] };
  }

  deleteCollection(rt: ResourceType, namespace: string | undefined, query: ListQuery, options: DeleteOptions, opts: WriteOptions): ListResult {
    const listed = this.list(rt, namespace, { labelSelector: query.labelSelector ?? null, fieldSelector: query.fieldSelector ?? null });
    const deleted: KubeObject[] = [];
    for (const item of listed.items) {
      const stored = this.stored(rt, item.metadata.namespace, item.metadata.name!);
      if (!stored) continue;
      this.admit(rt, opts, 'DELETE', null, stored);
      const result = this.deleteStored(rt, stored, opts);
      deleted.push(isRecord(result.body) && result.body.kind === 'Status' ? item : (result.body as KubeObject));
    }
    void options;
    return { items: deleted, resourceVersion: String(this.store.currentRevision()) };
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycles: CRDs serve their resources; terminating namespaces and CRDs empty themselves.

  private afterWrite(rt: ResourceType, obj: KubeObject): void {
    if (rt.storageKey === CRD_STORAGE) {
      if (obj.metadata.deletionTimestamp === undefined) this.establishCrd(obj);
      else this.schedule(`crd/${obj.metadata.name!}`, () => this.cleanUpCrd(obj.metadata.name!));
    }
    if (rt.storageKey === NAMESPACE_STORAGE && obj.metadata.deletionTimestamp !== undefined) {
      this.schedule(`ns/${obj.metadata.name!}`, () => this.cleanUpNamespace(obj.metadata.name!), this.options.namespaceDeletionDelayMs);
    }
  }

  private afterDelete(rt: ResourceType, obj: KubeObject): void {
    if (rt.storageKey === CRD_STORAGE) {
      const types = this.catalog.unserveCrd(obj.metadata.name!);
      for (const t of types) this.store.dropStorage(t.storageKey);
      this.options.onResourcesRemoved?.(types);
    }
    const ns = obj.metadata.namespace;
    if (ns !== undefined) {
      const nsObj = this.store.get(NAMESPACE_STORAGE, ns);
      if (nsObj?.metadata.deletionTimestamp !== undefined) this.schedule(`ns/${ns}`, () => this.cleanUpNamespace(ns));
    }
    if (rt.custom) {
      const crd = this.store.get(CRD_STORAGE, `${rt.plural}.${rt.group}`);
      if (crd?.metadata.deletionTimestamp !== undefined) this.schedule(`crd/${crd.metadata.name!}`, () => this.cleanUpCrd(crd.metadata.name!));
    }
  }

  /** Runs `fn` soon, once per `key` however often it is asked for meanwhile. */
  private schedule(key: string, fn: () => void, delayMs = 0): void {
    if (this.stopped || this.pending.has(key)) return;
    const timer = setTimeout(() => {
      this.pending.delete(key);
      if (!this.stopped) fn();
    }, delayMs);
    this.pending.set(key, timer);
  }

  private establishCrd(crd: KubeObject): void {
    const status = establishedCrdStatus(crd, nowTimestamp());
    const withStatus = { ...crd, status };
    this.catalog.serveCrd(withStatus as unknown as CustomResourceDefinition);
    if (canonical(crd.status) !== canonical(status)) {
      // The status is what the real CRD controllers write right after creation.
      const revision = this.store.nextRevision();
      const final = { ...withStatus, metadata: { ...crd.metadata, resourceVersion: String(revision) } };
      this.store.commit('MODIFIED', CRD_STORAGE, final, revision, crd);
    }
  }

  private namespacedStorageKeys(): Map<string, ResourceType> {
    const keys = new Map<string, ResourceType>();
    for (const rt of this.catalog.all()) if (rt.namespaced && !rt.conversion) keys.set(rt.storageKey, rt);
    return keys;
  }

  private cleanUpNamespace(name: string): void {
    const ns = this.store.get(NAMESPACE_STORAGE, name);
    if (!ns || ns.metadata.deletionTimestamp === undefined) return;
    // The namespace controller deletes the content through the API, so admission sees its
    // requests; a refused delete is retried, and the namespace stays Terminating meanwhile.
    const controller: WriteOptions = { user: NAMESPACE_CONTROLLER };
    let remaining = 0;
    let refused = false;
    for (const [storageKey, rt] of this.namespacedStorageKeys()) {
      for (const obj of this.store.list(storageKey, name)) {
        remaining++;
        if (obj.metadata.deletionTimestamp !== undefined) continue;
        try {
          this.admit(rt, controller, 'DELETE', null, obj);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          refused = true;
          continue;
        }
        this.deleteStored(rt, obj, {});
      }
    }
    if (refused) {
      this.schedule(`ns/${name}`, () => this.cleanUpNamespace(name), NAMESPACE_RETRY_MS);
      return;
    }
    if (remaining > 0) {
      // Objects with finalizers keep the namespace; afterDelete reschedules when they go.
      let left = 0;
      for (const storageKey of this.namespacedStorageKeys().keys()) left += this.store.list(storageKey, name).length;
      if (left > 0) return;
    }
    const nsType = this.catalog.lookup('', 'v1', 'namespaces')!;
    const current = this.store.get(NAMESPACE_STORAGE, name)!;
    const spec = isRecord(current.spec) ? current.spec : {};
    const finalizers = Array.isArray(spec.finalizers) ? (spec.finalizers as string[]).filter((f) => f !== NAMESPACE_FINALIZER) : [];
    this.replace(nsType, undefined, name, current, { ...current, spec: { ...spec, finalizers } }, 'finalize', {}, []);
  }

  private cleanUpCrd(name: string): void {
    const crd = this.store.get(CRD_STORAGE, name);
    if (!crd || crd.metadata.deletionTimestamp === undefined) return;
    const spec = crd.spec as CustomResourceDefinition['spec'];
    const rt = this.catalog.all().find((t) => t.custom && t.group === spec.group && t.plural === spec.names.plural && !t.conversion);
    if (rt) {
      for (const obj of this.store.list(rt.storageKey)) {
        if (obj.metadata.deletionTimestamp === undefined) this.deleteStored(rt, obj, {});
      }
      if (this.store.count(rt.storageKey) > 0) return;
    }
    const crdType = this.catalog.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const current = this.store.get(CRD_STORAGE, name)!;
    const finalizers = (current.metadata.finalizers ?? []).filter((f) => f !== CRD_CLEANUP_FINALIZER);
    this.replace(crdType, undefined, name, current, { ...current, metadata: { ...current.metadata, finalizers } }, undefined, {}, []);
  }
}
