// The OpenAPI v3 documents kubectl reads: the /openapi/v3 index and per-group-version documents
// whose PATCH operations declare `fieldValidation`, so kubectl leaves validation to the server
// (it otherwise insists on downloading OpenAPI v2 schemas for client-side validation).
import { createHash } from 'node:crypto';
import type { ResourceCatalog } from './resources.js';
import type { ResourceType } from './types.js';

function gvPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

function hashOf(text: string): string {
  return createHash('sha512').update(text).digest('hex').slice(0, 128).toUpperCase();
}

const QUERY_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: name === 'force' ? 'boolean' : 'string', uniqueItems: true },
}));

function objectPaths(rt: ResourceType): Record<string, unknown> {
  const base = `/${gvPath(rt.group, rt.version)}${rt.namespaced ? '/namespaces/{namespace}' : ''}/${rt.plural}`;
  const gvk = { group: rt.group, version: rt.version, kind: rt.kind };
  const ref = { $ref: `#/components/schemas/${schemaName(rt)}` };
  const content = { 'application/json': { schema: ref } };
  const op = (action: string, id: string) => ({
    operationId: `${id}${rt.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    parameters: QUERY_PARAMS,
    responses: { '200': { description: 'OK', content } },
  });
  const paths: Record<string, unknown> = {
    [base]: { post: op('post', 'create'), get: op('list', 'list') },
    [`${base}/{name}`]: { get: op('get', 'read'), put: op('put', 'replace'), patch: op('patch', 'patch'), delete: op('delete', 'delete') },
  };
  if (rt.hasStatusSubresource) {
    paths[`${base}/{name}/status`] = { get: op('get', 'readStatus'), put: op('put', 'replaceStatus'), patch: op('patch', 'patchStatus') };
  }
  return paths;
}

function schemaName(rt: ResourceType): string {
  const reversed = rt.group === '' ? 'io.k8s.api.core' : rt.group.split('.').reverse().join('.');
  return `${reversed}.${rt.version}.${rt.kind}`;
}

function schemaOf(rt: ResourceType): unknown {
  const schema = rt.schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  return { ...schema, 'x-kubernetes-group-version-kind': [{ group: rt.group, version: rt.version, kind: rt.kind }] };
}

export function openApiV3Document(catalog: ResourceCatalog, group: string, version: string): unknown | undefined {
  const types = catalog.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const rt of types) {
    if (rt.accessReview) continue;
    Object.assign(paths, objectPaths(rt));
    schemas[schemaName(rt)] = schemaOf(rt);
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

/** `/openapi/v3`: where each group-version's document is, with a content hash for caching. */
export function openApiV3Index(catalog: ResourceCatalog): unknown {
  const paths: Record<string, unknown> = {};
  for (const g of catalog.groups()) {
    for (const v of g.versions) {
      const doc = JSON.stringify(openApiV3Document(catalog, g.group, v) ?? {});
      paths[gvPath(g.group, v)] = { serverRelativeURL: `/openapi/v3/${gvPath(g.group, v)}?hash=${hashOf(doc)}` };
    }
  }
  return { paths };
}

