// Reading HTTP requests the way the API server does: route and RequestInfo from the path, content
// negotiation, bodies (JSON, YAML, protobuf), query parameters, the token path prefix.
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, notAcceptable, pathNotFound, unsupportedMediaType } from './errors.js';
import { decodeKubeProtobuf } from './protobuf.js';
import type { DeleteOptions, FieldValidation, ListQuery } from './registry.js';
import type { RequestInfo } from './requestlog.js';
import type { ResourceCatalog } from './resources.js';
import { TABLE_ACCEPT } from './table.js';
import { isRecord, type ResourceType } from './types.js';

const MAX_BODY_BYTES = 3 * 1024 * 1024;

/** The objects a resource request addresses. */
export interface Route {
  rt: ResourceType;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** What the client accepts: a Table, metadata only, or the object itself. */
export function negotiate(accept: string | undefined): 'table' | 'metadata' | 'json' {
  if (!accept) return 'json';
  const types = accept.split(',').map((t) => t.trim());
  for (const t of types) {
    const base = mediaType(t);
    if (base !== 'application/json' && base !== '*/*' && base !== 'application/*' && base !== 'application/yaml') continue;
    if (TABLE_ACCEPT.test(t)) return 'table';
    if (/as=PartialObjectMetadata/.test(t)) return 'metadata';
    if (!/as=/.test(t)) return 'json';
  }
  throw notAcceptable();
}

/** RequestInfo (what the authorizer, faults and the log see) and the route, from method and URL. */
export function parseRequest(catalog: ResourceCatalog, method: string, url: URL): { info: RequestInfo; route?: Route } {
  const base: RequestInfo = { method, path: url.pathname, isResourceRequest: false, verb: method.toLowerCase(), group: '', version: '', resource: '' };
  let segments: string[];
  try {
    segments = url.pathname.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch {
    throw badRequest(`invalid path ${url.pathname}`);
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    group = '';
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else {
    return { info: base };
  }
  let namespace: string | undefined;
  let resource: string;
  let name: string | undefined;
  let subresource: string | undefined;
  const namespaceSubresource = group === '' && rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize');
  if (rest[0] === 'namespaces' && rest.length >= 3 && !namespaceSubresource) {
    if (rest.length > 5) throw pathNotFound();
    [, namespace, resource, name, subresource] = rest as [string, string, string, string?, string?];
  } else {
    if (rest.length > 3) throw pathNotFound();
    [resource, name, subresource] = rest as [string, string?, string?];
  }
  const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
  let verb: string;
  switch (method) {
    case 'GET':
      verb = name !== undefined ? 'get' : watch ? 'watch' : 'list';
      break;
    case 'POST':
      verb = 'create';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = name !== undefined ? 'delete' : 'deletecollection';
      break;
    default:
      verb = method.toLowerCase();
  }
  // The authorizer sees a name for list/watch restricted to one object by field selector.
  if ((verb === 'list' || verb === 'watch') && name === undefined) {
    const m = /(?:^|,)metadata\.name==?([^,]+)/.exec(url.searchParams.get('fieldSelector') ?? '');
    if (m) name = m[1];
  }
  const info: RequestInfo = { ...base, isResourceRequest: true, verb, group, version, resource };
  if (subresource !== undefined) info.subresource = subresource;
  if (namespace !== undefined) info.namespace = namespace;
  if (name !== undefined) info.name = name;
  const rt = catalog.lookup(group, version, resource);
  if (!rt) return { info: { ...info, isResourceRequest: true }, route: undefined };
  if (!rt.namespaced && namespace !== undefined) return { info };
  const route: Route = { rt, namespace, name: verb === 'list' || verb === 'watch' ? undefined : name, subresource };
  return { info, route };
}

export const TOKEN_PREFIX = '/__token/';

/** Strips a `/__token/<token>` prefix (see urlFor) from the request path. */
export function splitTokenPrefix(rawUrl: string): { url: URL; pathToken?: string } {
  const url = new URL(rawUrl, 'http://localhost');
  if (!url.pathname.startsWith(TOKEN_PREFIX)) return { url };
  const rest = url.pathname.slice(TOKEN_PREFIX.length);
  const slash = rest.indexOf('/');
  const token = slash < 0 ? rest : rest.slice(0, slash);
  url.pathname = slash < 0 ? '/' : rest.slice(slash);
  return { url, pathToken: token };
}

export function parseFieldValidation(value: string | null): FieldValidation {
  if (value === null || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got ${JSON.stringify(value)}`);
}

export function parseInteger(text: string, param: string): number {
  if (!/^-?\d+$/.test(text)) throw badRequest(`invalid value for ${param}: ${JSON.stringify(text)}: strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  return Number(text);
}

export function listQuery(q: URLSearchParams): ListQuery {
  const limit = q.get('limit');
  return {
    labelSelector: q.get('labelSelector'),
    fieldSelector: q.get('fieldSelector'),
    limit: limit !== null && limit !== '' ? parseInteger(limit, 'limit') : 0,
    continue: q.get('continue'),
    resourceVersion: q.get('resourceVersion'),
    resourceVersionMatch: q.get('resourceVersionMatch'),
  };
}

export async function readBody(req: IncomingMessage): Promise<string> {
  return (await readRawBody(req)).toString('utf8');
}

export async function readRawBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  if (tooLarge) throw new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${MAX_BODY_BYTES}`);
  return Buffer.concat(chunks);
}

export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  await readBody(req);
}

const PROTOBUF = 'application/vnd.kubernetes.protobuf';
const OBJECT_MEDIA_TYPES = ['application/json', 'application/yaml', PROTOBUF];

export function parseObjectBody(contentType: string | undefined, body: Buffer): unknown {
  const type = mediaType(contentType) || 'application/json';
  if (type === PROTOBUF) return decodeKubeProtobuf(body);
  const raw = body.toString('utf8');
  if (type === 'application/json') {
    try {
      return JSON.parse(raw);
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  if (type === 'application/yaml') {
    try {
      return parseYaml(raw);
    } catch (e) {
      throw badRequest(`yaml: ${(e as Error).message}`);
    }
  }
  throw unsupportedMediaType(OBJECT_MEDIA_TYPES);
}

export function parseDeleteOptions(contentType: string | undefined, raw: Buffer, q: URLSearchParams): DeleteOptions {
  let body: unknown = {};
  if (raw.toString('utf8').trim() !== '' && mediaType(contentType) !== PROTOBUF) body = parseObjectBody(contentType, raw);
  if (!isRecord(body)) throw badRequest('DeleteOptions must be a JSON object');
  const options: DeleteOptions = {};
  const pre = body.preconditions;
  if (pre !== undefined && pre !== null) {
    if (!isRecord(pre)) throw badRequest('json: cannot unmarshal into Go struct field DeleteOptions.preconditions of type v1.Preconditions');
    options.preconditions = {};
    if (typeof pre.uid === 'string') options.preconditions.uid = pre.uid;
    if (typeof pre.resourceVersion === 'string') options.preconditions.resourceVersion = pre.resourceVersion;
  }
  const policy = body.propagationPolicy ?? q.get('propagationPolicy') ?? undefined;
  if (policy !== undefined && policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground') {
      throw new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"`);
    }
    options.propagationPolicy = policy;
  }
  return options;
}
