// The test API server: HTTP on 127.0.0.1 with Kubernetes' routing, content negotiation,
// authentication/RBAC, fault injection and a request log, in front of the object registry.
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { CustomResourceDefinition } from '../../../src/kube/openapi.js';
import { loadCrdFiles } from './crd-schema.js';
import { AdmissionController } from './admission.js';
import { handleAdmin } from './admin.js';
import { defaultCrdFiles } from './crds.js';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.js';
import { ApiError, internalError, methodNotAllowed, pathNotFound } from './errors.js';
import { FaultInjector } from './faults.js';
import { writeKubeconfig } from './kubeconfig.js';
import { openApiV3Document, openApiV3Index } from './openapi-docs.js';
import { deepCopy } from './patch.js';
import { ObjectRegistry, type ListQuery, type WriteOptions } from './registry.js';
import { RequestLog, type RequestInfo, type UserInfo } from './requestlog.js';
import {
  TOKEN_PREFIX,
  drain,
  listQuery,
  mediaType,
  negotiate,
  parseDeleteOptions,
  parseFieldValidation,
  parseInteger,
  parseObjectBody,
  parseRequest,
  readBody,
  readRawBody,
  splitTokenPrefix,
  type Route,
} from './request.js';
import { ResourceCatalog } from './resources.js';
import { ADMIN_USER, Authorizer, serviceAccountUser } from './rbac.js';
import { answerAccessReview } from './reviews.js';
import { ObjectStore } from './store.js';
import { toTable, type IncludeObject } from './table.js';
import { groupVersion, isRecord, type KubeObject, type ResourceType } from './types.js';
import { WatchHub } from './watch.js';

export interface ApiServerOptions {
  /** CRD YAML files or directories loaded at start. Default: Cilium's and the project's (`defaultCrdFiles()`); `[]` for none. */
  crdFiles?: string[];
  /** Changes retained for watches and paged lists; older resourceVersions get 410. Default 50,000. */
  historyLimit?: number;
  /** BOOKMARK interval of watches that allow bookmarks. Default 1,000 ms (the real server: ~1 min). */
  bookmarkIntervalMs?: number;
  /** Server-side end of watches without `timeoutSeconds`. Default 1,800 s. */
  watchTimeoutSeconds?: number;
  /** Delay between a namespace turning Terminating and its content being deleted. Default 0. */
  namespaceDeletionDelayMs?: number;
  /** Enforce RBAC from the start (admin's token always passes). Default false; see `rbac.enabled`. */
  rbac?: boolean;
  /** Serve the `/__admin/` fault and log endpoints (the standalone process turns this on). */
  adminEndpoint?: boolean;
  /** Port on 127.0.0.1; default 0 (random). */
  port?: number;
  /** Requests kept in the log. Default 100,000. */
  requestLogLimit?: number;
}

/** Any Kubernetes object as callers hold it (their own object types fit). */
export interface ObjectInput {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class TestApiServer {
  readonly store: ObjectStore;
  readonly catalog = new ResourceCatalog();
  readonly registry: ObjectRegistry;
  readonly watches: WatchHub;
  readonly faults: FaultInjector;
  readonly requests: RequestLog;
  readonly rbac: Authorizer;
  /** ValidatingAdmissionPolicies: evaluated on every write made over HTTP; `audit` holds what Audit bindings recorded. */
  readonly admission: AdmissionController;
  /** Directory of the generated kubeconfig files; removed by stop(). */
  readonly dir: string;
  readonly adminToken: string;
  private readonly http: Server;
  /** Releases of requests a latency fault is holding. */
  private readonly held = new Set<() => void>();
  private port = 0;
  private kubeconfigFile = '';
  private readonly watchTimeoutSeconds: number;

  private constructor(private readonly options: ApiServerOptions) {
    this.store = new ObjectStore(options.historyLimit ?? 50_000);
    // `authorizer` in CEL asks RBAC about the request's user (or a ServiceAccount it names).
    this.admission = new AdmissionController(this.store, this.catalog, (q) => {
      const user = { name: q.user, groups: q.groups };
      const info: RequestInfo =
        q.kind === 'path'
          ? { method: 'GET', path: q.path, isResourceRequest: false, verb: q.verb, group: '', version: '', resource: '' }
          : {
              method: 'POST',
              path: '',
              isResourceRequest: true,
              verb: q.verb,
              group: q.group,
              version: '',
              resource: q.resource,
              ...(q.subresource ? { subresource: q.subresource } : {}),
              ...(q.namespace ? { namespace: q.namespace } : {}),
              ...(q.name ? { name: q.name } : {}),
            };
      const allowed = this.rbac.allows(user, info);
      return { allowed, reason: allowed && this.rbac.enabled ? 'RBAC: allowed by a binding' : '' };
    });
    this.registry = new ObjectRegistry(this.store, this.catalog, {
      admission: this.admission,
      namespaceDeletionDelayMs: options.namespaceDeletionDelayMs ?? 0,
      // Watches of a resource whose CRD is gone end, as on a real server.
      onResourcesRemoved: (types) => types.forEach((t) => this.watches.closeAll({ group: t.group, resource: t.plural })),
    });
    this.watches = new WatchHub(this.store, this.registry, options.bookmarkIntervalMs ?? 1000);
    this.faults = new FaultInjector(this.watches, this.store);
    this.requests = new RequestLog(options.requestLogLimit ?? 100_000);
    this.rbac = new Authorizer(this.store);
    this.rbac.enabled = options.rbac ?? false;
    this.adminToken = this.rbac.addToken(ADMIN_USER);
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 1800;
    this.dir = mkdtempSync(path.join(tmpdir(), 'netpol-apiserver-'));
    this.http = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.sendError(res, internalError(String(err))));
    });
  }

  /** Starts a server with built-in namespaces and the CRDs of `options.crdFiles` established. */
  static async start(options: ApiServerOptions = {}): Promise<TestApiServer> {
    const server = new TestApiServer(options);
    for (const name of BUILTIN_NAMESPACES) server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    server.loadCrdFiles(options.crdFiles ?? defaultCrdFiles());
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    server.port = (server.http.address() as AddressInfo).port;
    server.kubeconfigFile = writeKubeconfig(path.join(server.dir, 'kubeconfig'), {
      server: server.urlFor(server.adminToken),
      token: server.adminToken,
      user: ADMIN_USER.name,
    });
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * The server URL carrying `token` as a path prefix (`/__token/<token>`). kubectl never sends a
   * bearer token over plain HTTP, so kubeconfig files identify their user this way; client-node
   * sends the token header as well.
   */
  urlFor(token: string): string {
    return `${this.url}${TOKEN_PREFIX}${token}`;
  }

  /** Path of a kubeconfig file for the admin user (system:masters). */
  get kubeconfigPath(): string {
    return this.kubeconfigFile;
  }

  /** A client-node KubeConfig for the admin, or for whoever `token` belongs to. */
  kubeConfig(token = this.adminToken): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'netpol-test', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'user', token }],
      contexts: [{ name: 'netpol-test', cluster: 'netpol-test', user: 'user', namespace: 'default' }],
      currentContext: 'netpol-test',
    });
    return kc;
  }

  /** Writes a kubeconfig file for `user` (a new token) and returns its path. */
  kubeconfigFor(user: UserInfo, namespace = 'default'): string {
    const token = this.rbac.addToken(user);
    const file = path.join(this.dir, `kubeconfig-${user.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${token.slice(0, 6)}`);
    return writeKubeconfig(file, { server: this.urlFor(token), token, user: user.name, namespace });
  }

  /** A bearer token for the ServiceAccount `namespace/name` (system:serviceaccount:… with its groups). */
  serviceAccountToken(namespace: string, name: string): string {
    return this.rbac.addToken(serviceAccountUser(namespace, name));
  }

  /** Waits `ms`; false when the client went away (or the server stopped) first. */
  private hold(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (answered: boolean) => {
        clearTimeout(timer);
        res.off('close', gone);
        this.held.delete(gone);
        resolve(answered);
      };
      const gone = () => done(false);
      const timer = setTimeout(() => done(true), ms);
      res.once('close', gone);
      this.held.add(gone);
    });
  }

  async stop(): Promise<void> {
    for (const release of [...this.held]) release();
    this.watches.closeAll();
    this.registry.stop();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    rmSync(this.dir, { recursive: true, force: true });
  }

  // -------------------------------------------------------------------------------------------
  // In-process access to objects (no HTTP, no RBAC, not logged): test setup and assertions.

  private resourceFor(apiVersion: string, kindOrPlural: string): ResourceType {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    const rt =
      this.catalog.lookup(group, version, kindOrPlural) ??
      this.catalog.resourcesOf(group, version).find((t) => t.kind === kindOrPlural);
    if (!rt) throw new Error(`no resource ${kindOrPlural} in ${apiVersion}`);
    return rt;
  }

  /** Creates `obj`, or replaces the stored one (whatever its resourceVersion). Returns a copy of what is stored. */
  apply(input: ObjectInput): KubeObject {
    // The store keeps what it is given: a copy, so later changes by the caller do not leak in.
    const obj = deepCopy(input) as KubeObject;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || !isRecord(obj.metadata) || typeof obj.metadata.name !== 'string') {
      throw new Error('apply needs apiVersion, kind and metadata.name');
    }
    const rt = this.resourceFor(obj.apiVersion, obj.kind);
    const ns = rt.namespaced ? (obj.metadata.namespace ?? 'default') : undefined;
    const name = obj.metadata.name;
    const existing = this.registry.list(rt, ns, { fieldSelector: `metadata.name=${name}` }).items[0];
    if (!existing) return deepCopy(this.registry.create(rt, ns, obj).body as KubeObject);
    const body = { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } };
    let result = this.registry.update(rt, ns, name, body, undefined).body as KubeObject;
    if (rt.hasStatusSubresource && obj.status !== undefined) {
      result = this.registry.update(rt, ns, name, { ...result, status: obj.status }, 'status').body as KubeObject;
    }
    return deepCopy(result);
  }

  get(apiVersion: string, kindOrPlural: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const rt = this.resourceFor(apiVersion, kindOrPlural);
    try {
      return deepCopy(this.registry.get(rt, rt.namespaced ? namespace : undefined, name));
    } catch (e) {
      if (e instanceof ApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  list(apiVersion: string, kindOrPlural: string, namespace?: string, query: ListQuery = {}): KubeObject[] {
    const rt = this.resourceFor(apiVersion, kindOrPlural);
    return deepCopy(this.registry.list(rt, rt.namespaced ? namespace : undefined, query).items);
  }

  delete(apiVersion: string, kindOrPlural: string, namespace: string | undefined, name: string): void {
    const rt = this.resourceFor(apiVersion, kindOrPlural);
    this.registry.delete(rt, rt.namespaced ? namespace : undefined, name);
  }

  /** Establishes CRDs (their resources are served from now on). */
  loadCrds(crds: CustomResourceDefinition[]): void {
    for (const crd of crds) this.apply(crd as unknown as ObjectInput);
  }

  loadCrdFiles(paths: string[]): void {
    this.loadCrds(loadCrdFiles(paths));
  }

  /**
   * Applies every object of YAML files (multi-document; Lists are expanded): Namespaces and CRDs
   * first, then the rest in file order. For install manifests, RBAC, catalogs.
   */
  applyManifests(paths: string[]): KubeObject[] {
    const objects: ObjectInput[] = [];
    for (const file of paths) {
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        const obj: unknown = doc.toJS();
        if (!isRecord(obj)) continue;
        if (obj.kind === 'List' && Array.isArray(obj.items)) objects.push(...(obj.items as ObjectInput[]));
        else objects.push(obj);
      }
    }
    const rank = (o: ObjectInput) => (o.kind === 'Namespace' ? 0 : o.kind === 'CustomResourceDefinition' ? 1 : 2);
    return [...objects].sort((a, b) => rank(a) - rank(b)).map((o) => this.apply(o));
  }

  // -------------------------------------------------------------------------------------------
  // HTTP

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let info: RequestInfo = { method: req.method ?? 'GET', path: (req.url ?? '/').replace(/^\/__token\/[^/?]*/, ''), isResourceRequest: false, verb: (req.method ?? 'get').toLowerCase(), group: '', version: '', resource: '' };
    let user: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };
    let injected = false;
    const respond = (code: number, body: unknown, headers: Record<string, string> = {}) => {
      this.requests.record(info, user, code, injected);
      this.send(res, code, body, headers);
    };
    try {
      const { url, pathToken } = splitTokenPrefix(req.url ?? '/');
      const parsed = parseRequest(this.catalog, req.method ?? 'GET', url);
      info = parsed.info;
      user = this.rbac.authenticate(pathToken !== undefined ? `Bearer ${pathToken}` : req.headers.authorization);
      const asUser = req.headersDistinct['impersonate-user']?.[0];
      if (asUser !== undefined) user = this.rbac.impersonate(user, asUser, req.headersDistinct['impersonate-group'] ?? []);
      if (url.pathname.startsWith('/__admin/') && this.options.adminEndpoint) {
        respond(200, handleAdmin(this.faults, this.requests, url, await readBody(req)));
        return;
      }
      const fault = this.faults.evaluate(info, user.name);
      // A held request whose client gives up (or a server that stops) is dropped unprocessed, as if
      // it had never arrived: latency faults model a slow or partitioned network.
      if (fault.latencyMs > 0 && !(await this.hold(fault.latencyMs, res))) {
        this.requests.record(info, user, 499, true);
        return;
      }
      if (fault.error) {
        injected = true;
        throw fault.error;
      }
      this.rbac.authorize(user, info);
      if (!info.isResourceRequest) {
        const doc = this.nonResource(url.pathname);
        if (typeof doc === 'string') {
          this.requests.record(info, user, 200, false);
          res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(doc);
        } else {
          respond(200, doc);
        }
        return;
      }
      const route = parsed.route;
      if (route?.rt.accessReview) {
        if (info.verb !== 'create' || route.name !== undefined) throw methodNotAllowed();
        const review = parseObjectBody(req.headers['content-type'], await readRawBody(req));
        respond(201, answerAccessReview(route.rt, review, user, this.rbac));
        return;
      }
      await this.resourceRequest(req, res, url, info, route, user, (code, body, headers) => respond(code, body, headers), () =>
        this.requests.record(info, user, 200, false),
      );
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : String(err));
      this.requests.record(info, user, apiErr.code, injected);
      this.sendError(res, apiErr);
    }
  }

  private nonResource(pathname: string): unknown {
    const p = pathname.replace(/\/+$/, '') || '/';
    if (p === '/version') return SERVER_VERSION;
    if (p === '/healthz' || p === '/livez' || p === '/readyz') return 'ok';
    if (p === '/api') return apiVersions(`127.0.0.1:${this.port}`);
    if (p === '/apis') return apiGroupList(this.catalog);
    const segments = p.split('/').filter((s) => s !== '');
    if (p === '/openapi/v3') return openApiV3Index(this.catalog);
    if (segments[0] === 'openapi' && segments[1] === 'v3') {
      const [group, version] = segments[2] === 'api' ? ['', segments[3]] : [segments[3], segments[4]];
      const doc = group !== undefined && version !== undefined ? openApiV3Document(this.catalog, group, version) : undefined;
      if (doc) return doc;
    }
    if (segments[0] === 'api' && segments.length === 2) {
      const doc = apiResourceList(this.catalog, '', segments[1]!);
      if (doc) return doc;
    }
    if (segments[0] === 'apis' && segments.length === 2) {
      const doc = apiGroup(this.catalog, segments[1]!);
      if (doc) return doc;
    }
    if (segments[0] === 'apis' && segments.length === 3) {
      const doc = apiResourceList(this.catalog, segments[1]!, segments[2]!);
      if (doc) return doc;
    }
    throw pathNotFound();
  }

  private async resourceRequest(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    info: RequestInfo,
    route: Route | undefined,
    user: UserInfo,
    respond: (code: number, body: unknown, headers?: Record<string, string>) => void,
    logWatch: () => void,
  ): Promise<void> {
    if (!route) throw pathNotFound();
    const { rt, namespace, name, subresource } = route;
    if (subresource !== undefined) {
      const known = (subresource === 'status' && rt.hasStatusSubresource) || (subresource === 'finalize' && rt.group === '' && rt.kind === 'Namespace');
      if (!known) throw pathNotFound();
      if (subresource === 'finalize' && info.verb !== 'update') throw methodNotAllowed();
      if (info.verb !== 'get' && info.verb !== 'update' && info.verb !== 'patch') throw methodNotAllowed();
    }
    const q = url.searchParams;
    const format = info.verb === 'get' || info.verb === 'list' || info.verb === 'watch' ? negotiate(req.headers.accept) : 'json';
    const include = (q.get('includeObject') ?? 'Metadata') as IncludeObject;
    const writeOptions: WriteOptions = {
      dryRun: q.getAll('dryRun').includes('All'),
      fieldValidation: parseFieldValidation(q.get('fieldValidation')),
      user,
    };
    const warningHeaders = (warnings: string[]): Record<string, string> =>
      warnings.length > 0 ? { Warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ') } : {};
    const nsForWrite = rt.namespaced ? namespace : undefined;
    if (rt.namespaced && namespace === undefined && info.verb !== 'list' && info.verb !== 'watch') throw methodNotAllowed();

    switch (info.verb) {
      case 'get': {
        await drain(req);
        const obj = this.registry.get(rt, namespace, name!);
        if (format === 'table') respond(200, toTable(rt, [obj], include, { resourceVersion: obj.metadata.resourceVersion ?? '' }));
        else if (format === 'metadata') respond(200, partialMetadata(obj));
        else respond(200, obj);
        return;
      }
      case 'list': {
        await drain(req);
        const result = this.registry.list(rt, namespace, listQuery(q));
        if (format === 'table') {
          respond(200, toTable(rt, result.items, include, result));
          return;
        }
        const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
        if (result.continue) metadata.continue = result.continue;
        if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
        if (format === 'metadata') {
          respond(200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata, items: result.items.map(partialMetadata) });
          return;
        }
        // Typed (built-in) lists carry no apiVersion/kind per item; custom resource lists do.
        const items = rt.custom ? result.items : result.items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest);
        respond(200, { apiVersion: groupVersion(rt), kind: rt.listKind, metadata, items });
        return;
      }
      case 'watch': {
        await drain(req);
        const timeout = q.get('timeoutSeconds');
        const requested = timeout !== null && timeout !== '' ? parseInteger(timeout, 'timeoutSeconds') : 0;
        const timeoutSeconds = requested > 0 ? requested : this.watchTimeoutSeconds;
        this.watches.serve(
          {
            rt,
            namespace,
            labelSelector: q.get('labelSelector'),
            fieldSelector: q.get('fieldSelector'),
            resourceVersion: q.get('resourceVersion'),
            allowBookmarks: q.get('allowWatchBookmarks') === 'true',
            sendInitialEvents: q.get('sendInitialEvents') === 'true',
            timeoutSeconds,
            table: format === 'table' ? include : null,
          },
          res,
        );
        logWatch();
        return;
      }
      case 'create': {
        if (name !== undefined) throw methodNotAllowed();
        const body = parseObjectBody(req.headers['content-type'], await readRawBody(req));
        const result = this.registry.create(rt, nsForWrite, body, writeOptions);
        respond(result.code, result.body, warningHeaders(result.warnings));
        return;
      }
      case 'update': {
        if (name === undefined) throw methodNotAllowed();
        const body = parseObjectBody(req.headers['content-type'], await readRawBody(req));
        const result = this.registry.update(rt, nsForWrite, name, body, subresource, writeOptions);
        respond(result.code, result.body, warningHeaders(result.warnings));
        return;
      }
      case 'patch': {
        if (name === undefined) throw methodNotAllowed();
        const raw = await readBody(req);
        const result = this.registry.patch(rt, nsForWrite, name, mediaType(req.headers['content-type']), raw, subresource, writeOptions);
        respond(result.code, result.body, warningHeaders(result.warnings));
        return;
      }
      case 'delete': {
        const options = parseDeleteOptions(req.headers['content-type'], await readRawBody(req), q);
        const result = this.registry.delete(rt, nsForWrite, name!, options, writeOptions);
        respond(result.code, result.body, warningHeaders(result.warnings));
        return;
      }
      case 'deletecollection': {
        const options = parseDeleteOptions(req.headers['content-type'], await readRawBody(req), q);
        const result = this.registry.deleteCollection(rt, nsForWrite, listQuery(q), options, writeOptions);
        respond(200, { apiVersion: groupVersion(rt), kind: rt.listKind, metadata: { resourceVersion: result.resourceVersion }, items: result.items });
        return;
      }
      default:
        throw methodNotAllowed();
    }
  }

  private send(res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  private sendError(res: ServerResponse, err: ApiError): void {
    this.send(res, err.code, err.toStatus(), err.headers);
  }
}

function partialMetadata(obj: KubeObject): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}
