// HttpKubeApi against the test API server over real HTTP: round trips of every verb, the content
// types they send, API failures mapped to typed one-line errors, and the request/write hooks.
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ApiError, type ApiErrorReason, type WatchEventType } from '../../src/kube/api.js';
import { HttpKubeApi, type RequestOutcome } from '../../src/kube/http-api.js';
import { RESOURCES } from '../../src/kube/resources.js';
import type { KubeObject } from '../../src/kube/types.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { makeCertificates, requireOpenssl } from '../support/tls.js';

const CNP = RESOURCES.ciliumNetworkPolicies;
const MANAGED = { 'app.kubernetes.io/managed-by': 'netpol-profiles' };

function policy(name: string, namespace = 'shop'): KubeObject {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace, labels: { ...MANAGED } },
    spec: { description: 'test', endpointSelector: {}, ingress: [{}] },
  };
}

/** Runs `action`, expects an ApiError, returns it. */
async function failure(action: () => Promise<unknown>): Promise<ApiError> {
  try {
    await action();
  } catch (error) {
    expect(error).to.be.instanceOf(ApiError);
    return error as ApiError;
  }
  expect.fail('expected an ApiError');
}

function expectOneLine(error: ApiError, startsWith: string, reason: ApiErrorReason): void {
  expect(error.reason).to.equal(reason);
  expect(error.message).to.match(new RegExp(`^${startsWith.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  expect(error.message).not.to.include('\n');
}

/** A port on 127.0.0.1 nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function kubeConfigFor(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, skipTLSVerify: false }],
    users: [{ name: 'u', token: 'none' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

describe('HttpKubeApi against the test API server', function () {
  let server: TestApiServer;
  let api: HttpKubeApi;
  const writes: string[] = [];
  const outcomes: Array<{ verb: string; plural: string; outcome: RequestOutcome }> = [];

  before(async () => {
    server = await TestApiServer.start({ bookmarkIntervalMs: 100 });
    // Loaded from the kubeconfig file, as `--kubeconfig` does: plain http, bearer token.
    const kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    api = new HttpKubeApi(kc, {
      userAgent: 'netpol-profiles-test',
      onWrite: (verb, kind) => writes.push(`${verb} ${kind}`),
      onRequest: (verb, resource, outcome) => outcomes.push({ verb, plural: resource.plural, outcome }),
    });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  });

  after(async () => {
    api.close();
    await server.stop();
  });

  afterEach(() => server.faults.clear());

  describe('round trips', () => {
    it('creates, gets, lists, updates, patches and deletes a CiliumNetworkPolicy', async () => {
      const created = await api.create(CNP, policy('profile-standard'));
      expect(created.metadata?.uid).to.be.a('string');
      expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')?.metadata.resourceVersion).to.equal(created.metadata?.resourceVersion);

      const fetched = await api.get<KubeObject>(CNP, 'profile-standard', 'shop');
      expect(fetched.spec).to.deep.equal({ description: 'test', endpointSelector: {}, ingress: [{}] });

      await api.create(CNP, { ...policy('not-ours'), metadata: { name: 'not-ours', namespace: 'shop' } });
      const listed = await api.list(CNP, { namespace: 'shop', labelSelector: 'app.kubernetes.io/managed-by=netpol-profiles' });
      expect(listed.items.map((o) => o.metadata?.name)).to.deep.equal(['profile-standard']);
      expect(listed.resourceVersion).to.match(/^\d+$/);

      const updated = await api.update(CNP, { ...fetched, spec: { ...(fetched.spec as object), description: 'updated' } });
      expect(updated.metadata?.resourceVersion).not.to.equal(fetched.metadata?.resourceVersion);
      expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')?.spec).to.include({ description: 'updated' });

      await api.patch(CNP, 'profile-standard', 'shop', { metadata: { labels: { team: 'web' } } }, 'merge');
      await api.patch(CNP, 'profile-standard', 'shop', [{ op: 'replace', path: '/spec/description', value: 'json-patched' }], 'json');
      const patched = server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')!;
      expect(patched.metadata.labels).to.deep.equal({ ...MANAGED, team: 'web' });
      expect(patched.spec).to.include({ description: 'json-patched' });

      await api.delete(CNP, 'profile-standard', 'shop');
      await api.delete(CNP, 'not-ours', 'shop');
      expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')).to.equal(undefined);
    });

    it('gives list items of built-in kinds their apiVersion and kind, and pages with limit/continue', async () => {
      for (let i = 0; i < 5; i++) server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `page-${i}`, namespace: 'shop' } });
      const first = await api.list(RESOURCES.configMaps, { namespace: 'shop', limit: 2 });
      expect(first.items).to.have.length(2);
      expect(first.items[0]).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
      expect(first.continue).to.be.a('string');
      const names = first.items.map((o) => o.metadata?.name);
      let token = first.continue;
      while (token !== undefined) {
        const page = await api.list(RESOURCES.configMaps, { namespace: 'shop', limit: 2, continue: token });
        names.push(...page.items.map((o) => o.metadata?.name));
        token = page.continue;
      }
      expect(names.filter((n) => n?.startsWith('page-'))).to.deep.equal(['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
    });

    it('applies a strategic merge patch to a built-in kind (and the API refuses one for a custom resource)', async () => {
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'state', namespace: 'shop' }, data: { a: '1' } });
      const patched = await api.patch<KubeObject>(RESOURCES.configMaps, 'state', 'shop', { data: { b: '2' } }, 'strategic');
      expect(patched.data).to.deep.equal({ a: '1', b: '2' });

      await api.create(CNP, policy('strategic'));
      const refused = await failure(() => api.patch(CNP, 'strategic', 'shop', { spec: { description: 'x' } }, 'strategic'));
      expect(refused.status).to.equal(415);
      await api.delete(CNP, 'strategic', 'shop');
    });

    it('updates status through the status subresource only', async () => {
      const profile = await api.create<KubeObject>(RESOURCES.networkProfiles, {
        apiVersion: 'network-policy.homelab/v1alpha1',
        kind: 'NetworkProfile',
        metadata: { name: 'standard' },
        spec: { description: 'web apps' },
      });
      // A status in a main-resource update is ignored ...
      const viaUpdate = await api.update<KubeObject>(RESOURCES.networkProfiles, { ...profile, status: { namespaceCount: 9 } });
      expect(viaUpdate.status ?? {}).not.to.have.property('namespaceCount');
      // ... and written by updateStatus.
      const viaStatus = await api.updateStatus<KubeObject>(RESOURCES.networkProfiles, { ...viaUpdate, status: { namespaceCount: 2, namespaces: ['a', 'b'] } });
      expect(viaStatus.status).to.deep.include({ namespaceCount: 2 });
      expect(server.get('network-policy.homelab/v1alpha1', 'networkprofiles', undefined, 'standard')?.status).to.deep.include({ namespaceCount: 2 });
      await api.delete(RESOURCES.networkProfiles, 'standard');
    });

    it('fills in apiVersion and kind the caller left out of a create', async () => {
      const created = await api.create(RESOURCES.configMaps, { metadata: { name: 'untyped', namespace: 'shop' }, data: { k: 'v' } } as KubeObject);
      expect(created).to.include({ apiVersion: 'v1', kind: 'ConfigMap' });
    });

    it('deletes with preconditions and refuses a stale one', async () => {
      const created = await api.create(CNP, policy('guarded'));
      const stale = await failure(() => api.delete(CNP, 'guarded', 'shop', { preconditions: { uid: 'not-the-uid' } }));
      expectOneLine(stale, 'delete ciliumnetworkpolicies shop/guarded: 409 Conflict:', 'Conflict');
      await api.delete(CNP, 'guarded', 'shop', { preconditions: { uid: created.metadata!.uid!, resourceVersion: created.metadata!.resourceVersion! } });
      expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'guarded')).to.equal(undefined);
    });
  });

  describe('errors', () => {
    it('404 NotFound names the verb, resource and object', async () => {
      const error = await failure(() => api.get(CNP, 'missing', 'shop'));
      expectOneLine(error, 'get ciliumnetworkpolicies shop/missing: 404 NotFound:', 'NotFound');
      expect(error.status).to.equal(404);
      const deleting = await failure(() => api.delete(RESOURCES.namespaces, 'no-such-namespace'));
      expectOneLine(deleting, 'delete namespaces no-such-namespace: 404 NotFound:', 'NotFound');
    });

    it('409 AlreadyExists on create, 409 Conflict on a stale update', async () => {
      await api.create(CNP, policy('profile-standard'));
      const exists = await failure(() => api.create(CNP, policy('profile-standard')));
      expectOneLine(exists, 'create ciliumnetworkpolicies shop/profile-standard: 409 AlreadyExists:', 'AlreadyExists');

      const current = await api.get<KubeObject>(CNP, 'profile-standard', 'shop');
      await api.patch(CNP, 'profile-standard', 'shop', { metadata: { labels: { bump: '1' } } }, 'merge');
      const stale = await failure(() => api.update(CNP, current));
      expectOneLine(stale, 'update ciliumnetworkpolicies shop/profile-standard: 409 Conflict:', 'Conflict');
      expect(stale.status).to.equal(409);
      await api.delete(CNP, 'profile-standard', 'shop');
    });

    it('422 Invalid carries the field path', async () => {
      const bad = { ...policy('bad'), spec: { endpointSelector: {}, ingress: 'everything' } };
      const error = await failure(() => api.create(CNP, bad));
      expectOneLine(error, 'create ciliumnetworkpolicies shop/bad: 422 Invalid:', 'Invalid');
      expect(error.message).to.include('spec.ingress');
      expect(error.causes.map((c) => c.field)).to.include('spec.ingress');

      await api.create(RESOURCES.networkProfiles, { apiVersion: 'network-policy.homelab/v1alpha1', kind: 'NetworkProfile', metadata: { name: 'isolated' }, spec: {} });
      const current = await api.get<KubeObject>(RESOURCES.networkProfiles, 'isolated');
      const status = await failure(() => api.updateStatus(RESOURCES.networkProfiles, { ...current, status: { namespaceCount: -1 } }));
      expectOneLine(status, 'update networkprofiles/status isolated: 422 Invalid:', 'Invalid');
      expect(status.causes.map((c) => c.field)).to.include('status.namespaceCount');
      await api.delete(RESOURCES.networkProfiles, 'isolated');
    });

    it('410 Gone for a watch from compacted history and for an expired continue token', async () => {
      for (let i = 0; i < 3; i++) server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `gone-${i}`, namespace: 'shop' } });
      const first = await api.list(RESOURCES.configMaps, { namespace: 'shop', limit: 1 });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'gone-0', namespace: 'shop' }, data: { changed: 'yes' } });
      server.faults.compactHistory();

      const watch = await failure(() => api.watch(RESOURCES.configMaps, { namespace: 'shop', resourceVersion: first.resourceVersion }, { onEvent: () => undefined }, new AbortController().signal));
      expectOneLine(watch, 'watch configmaps in shop: 410 Gone:', 'Gone');

      const paged = await failure(() => api.list(RESOURCES.configMaps, { namespace: 'shop', limit: 1, continue: first.continue! }));
      expectOneLine(paged, 'list configmaps in shop: 410 Gone:', 'Gone');
    });

    it('429 TooManyRequests and 503 Unavailable carry Retry-After seconds', async () => {
      server.faults.failNext(1, { verb: 'create', resource: 'ciliumnetworkpolicies', status: 429, retryAfterSeconds: 7 });
      const throttled = await failure(() => api.create(CNP, policy('throttled')));
      expectOneLine(throttled, 'create ciliumnetworkpolicies shop/throttled: 429 TooManyRequests', 'TooManyRequests');
      expect(throttled.retryAfterSeconds).to.equal(7);

      server.faults.failNext(1, { verb: 'get', resource: 'namespaces', status: 503 });
      const unavailable = await failure(() => api.get(RESOURCES.namespaces, 'shop'));
      expectOneLine(unavailable, 'get namespaces shop: 503 Unavailable:', 'Unavailable');
    });

    it('500 is a ServerError', async () => {
      server.faults.failNext(1, { verb: 'list', resource: 'namespaces', status: 500, message: 'etcd is sad' });
      const error = await failure(() => api.list(RESOURCES.namespaces));
      expectOneLine(error, 'list namespaces: 500 ServerError:', 'ServerError');
      expect(error.message).to.include('etcd is sad');
    });

    it('403 Forbidden and 401 Unauthorized with RBAC on', async () => {
      server.rbac.enabled = true;
      try {
        const nobody = new HttpKubeApi(server.kubeConfig(server.serviceAccountToken('netpol-profiles', 'nobody')));
        const forbidden = await failure(() => nobody.list(CNP, { namespace: 'shop' }));
        expectOneLine(forbidden, 'list ciliumnetworkpolicies in shop: 403 Forbidden:', 'Forbidden');
        expect(forbidden.message).to.include('system:serviceaccount:netpol-profiles:nobody');
        nobody.close();

        const stranger = new HttpKubeApi(server.kubeConfig('not-a-token'));
        const unauthorized = await failure(() => stranger.get(RESOURCES.namespaces, 'shop'));
        expectOneLine(unauthorized, 'get namespaces shop: 401 Unauthorized:', 'Unauthorized');
        stranger.close();
      } finally {
        server.rbac.enabled = false;
      }
    });

    it('connection refused on a closed port is a ConnectionError', async () => {
      const port = await closedPort();
      const offline = new HttpKubeApi(kubeConfigFor(`http://127.0.0.1:${port}`));
      const error = await failure(() => offline.get(RESOURCES.namespaces, 'shop'));
      expectOneLine(error, 'get namespaces shop: connection failed:', 'ConnectionError');
      expect(error.message).to.include('ECONNREFUSED');
      expect(error.status).to.equal(0);
      const watch = await failure(() => offline.watch(RESOURCES.namespaces, { resourceVersion: '1' }, { onEvent: () => undefined }, new AbortController().signal));
      expect(watch.reason).to.equal('ConnectionError');
      offline.close();
    });

    it('a request without an answer in time is a ConnectionError', async () => {
      const kc = new KubeConfig();
      kc.loadFromFile(server.kubeconfigPath);
      const impatient = new HttpKubeApi(kc, { requestTimeoutMs: 100 });
      const slow = server.faults.addLatency(1000, { verb: 'get', resource: 'namespaces' });
      const error = await failure(() => impatient.get(RESOURCES.namespaces, 'shop'));
      slow.remove();
      expectOneLine(error, 'get namespaces shop: no answer within 0.1s', 'ConnectionError');
      impatient.close();
    });
  });

  describe('watch', () => {
    it('streams ADDED, MODIFIED, DELETED and BOOKMARK events until aborted', async () => {
      const start = await api.list(CNP, { namespace: 'shop' });
      const seen: Array<[WatchEventType, string | undefined]> = [];
      const abort = new AbortController();
      const watching = api.watch(
        CNP,
        { namespace: 'shop', resourceVersion: start.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: 60 },
        {
          onEvent: (type, object) => {
            seen.push([type, object.metadata?.name]);
            if (type === 'DELETED') setTimeout(() => abort.abort(), 250);
          },
        },
        abort.signal,
      );
      await api.create(CNP, policy('watched'));
      await api.patch(CNP, 'watched', 'shop', { metadata: { labels: { x: 'y' } } }, 'merge');
      await api.delete(CNP, 'watched', 'shop');
      await watching;
      const changes = seen.filter(([type]) => type !== 'BOOKMARK');
      expect(changes).to.deep.equal([
        ['ADDED', 'watched'],
        ['MODIFIED', 'watched'],
        ['DELETED', 'watched'],
      ]);
      expect(seen.some(([type]) => type === 'BOOKMARK')).to.equal(true);
    });

    it('resolves when the server ends the stream, rejects with Gone on a 410 ERROR event', async () => {
      const start = await api.list(CNP, { namespace: 'shop' });
      const ended = api.watch(CNP, { namespace: 'shop', resourceVersion: start.resourceVersion, timeoutSeconds: 60 }, { onEvent: () => undefined }, new AbortController().signal);
      await until(() => server.watches.openCount({ resource: 'ciliumnetworkpolicies' }) === 1);
      server.faults.closeWatches({ resource: 'ciliumnetworkpolicies' });
      await ended;

      const expiring = api.watch(CNP, { namespace: 'shop', resourceVersion: start.resourceVersion, timeoutSeconds: 60 }, { onEvent: () => undefined }, new AbortController().signal);
      await until(() => server.watches.openCount({ resource: 'ciliumnetworkpolicies' }) === 1);
      server.faults.expireWatches({ resource: 'ciliumnetworkpolicies' });
      const error = await failure(() => expiring);
      expectOneLine(error, 'watch ciliumnetworkpolicies in shop: 410 Gone:', 'Gone');
    });
  });

  describe('over https (TLS in front of the test API server)', function () {
    let dir: string;
    let certs: ReturnType<typeof makeCertificates>;
    let proxy: https.Server;
    let upstream: http.Agent;
    let proxyUrl: string;
    const clientNames: string[] = [];

    before(async function () {
      requireOpenssl();
      dir = mkdtempSync(path.join(tmpdir(), 'netpol-tls-'));
      certs = makeCertificates(dir, 'test-ca');
      upstream = new http.Agent({ keepAlive: true });
      // Terminates TLS, notes the client certificate, and forwards to the test API server as is.
      proxy = https.createServer({ key: certs.serverKey, cert: certs.serverCert, ca: certs.ca, requestCert: true, rejectUnauthorized: false }, (req, res) => {
        const socket = req.socket as TLSSocket;
        clientNames.push(socket.authorized ? String(socket.getPeerCertificate().subject?.CN) : 'none');
        const target = new URL(server.url);
        const forwarded = http.request(
          { hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, agent: upstream },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forwarded.on('error', () => res.destroy());
        req.pipe(forwarded);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      proxyUrl = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    });

    after(async () => {
      if (!proxy) return;
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      upstream.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    const tlsKubeConfig = (ca: Buffer, token: string): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'tls', server: proxyUrl, caData: ca.toString('base64'), skipTLSVerify: false }],
        users: [{ name: 'operator', token, certData: certs.clientCert.toString('base64'), keyData: certs.clientKey.toString('base64') }],
        contexts: [{ name: 'tls', cluster: 'tls', user: 'operator' }],
        currentContext: 'tls',
      });
      return kc;
    };

    it('verifies the server with the kubeconfig CA, presents the client certificate and the token, and watches', async () => {
      const secure = new HttpKubeApi(tlsKubeConfig(certs.ca, server.adminToken));
      try {
        clientNames.length = 0;
        const mark = server.requests.mark();
        const ns = await secure.get(RESOURCES.namespaces, 'shop');
        expect(ns.metadata?.name).to.equal('shop');
        expect(clientNames).to.deep.equal(['netpol-operator']);
        expect(server.requests.query({ since: mark }).map((r) => r.user)).to.deep.equal(['admin']);

        const start = await secure.list(CNP, { namespace: 'shop' });
        const abort = new AbortController();
        const seen: string[] = [];
        const onEvent = (type: WatchEventType, object: KubeObject) => {
          seen.push(`${type} ${object.metadata?.name}`);
          abort.abort();
        };
        const watching = secure.watch(CNP, { namespace: 'shop', resourceVersion: start.resourceVersion }, { onEvent }, abort.signal);
        await secure.create(CNP, policy('over-tls'));
        await watching;
        expect(seen).to.deep.equal(['ADDED over-tls']);
        await secure.delete(CNP, 'over-tls', 'shop');
      } finally {
        secure.close();
      }
    });

    it('refuses a server whose certificate another CA signed', async () => {
      const other = makeCertificates(dir, 'other-ca');
      const wary = new HttpKubeApi(tlsKubeConfig(other.ca, server.adminToken));
      const error = await failure(() => wary.get(RESOURCES.namespaces, 'shop'));
      expectOneLine(error, 'get namespaces shop: connection failed:', 'ConnectionError');
      expect(error.message).to.match(/certificate/i);
      wary.close();
    });

    it('uses the in-cluster service account: token file, CA file, KUBERNETES_SERVICE_HOST/PORT', async () => {
      const root = path.join(dir, 'pod');
      const secrets = path.join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
      mkdirSync(secrets, { recursive: true });
      writeFileSync(path.join(secrets, 'ca.crt'), certs.ca);
      writeFileSync(path.join(secrets, 'token'), server.serviceAccountToken('netpol-profiles', 'netpol-profiles'));
      writeFileSync(path.join(secrets, 'namespace'), 'netpol-profiles');
      const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
      const kc = new KubeConfig();
      try {
        process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
        process.env.KUBERNETES_SERVICE_PORT = new URL(proxyUrl).port;
        kc.loadFromCluster(root);
      } finally {
        for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
      const inCluster = new HttpKubeApi(kc);
      try {
        const mark = server.requests.mark();
        await inCluster.get(RESOURCES.namespaces, 'shop');
        expect(server.requests.query({ since: mark }).map((r) => r.user)).to.deep.equal(['system:serviceaccount:netpol-profiles:netpol-profiles']);
      } finally {
        inCluster.close();
      }
    });
  });

  describe('hooks', () => {
    it('counts every write sent, refused ones too, and reports each outcome', async () => {
      writes.length = 0;
      outcomes.length = 0;
      await api.create(CNP, policy('counted'));
      await failure(() => api.create(CNP, policy('counted')));
      await api.patch(CNP, 'counted', 'shop', { metadata: { labels: { a: 'b' } } }, 'merge');
      const current = await api.get<KubeObject>(CNP, 'counted', 'shop');
      await api.update(CNP, current);
      await api.delete(CNP, 'counted', 'shop');
      await failure(() => api.delete(CNP, 'counted', 'shop'));
      expect(writes).to.deep.equal([
        'create CiliumNetworkPolicy',
        'create CiliumNetworkPolicy',
        'patch CiliumNetworkPolicy',
        'update CiliumNetworkPolicy',
        'delete CiliumNetworkPolicy',
        'delete CiliumNetworkPolicy',
      ]);
      expect(outcomes.map((o) => `${o.verb} ${o.plural} ${o.outcome}`)).to.deep.equal([
        'create ciliumnetworkpolicies success',
        'create ciliumnetworkpolicies AlreadyExists',
        'patch ciliumnetworkpolicies success',
        'get ciliumnetworkpolicies success',
        'update ciliumnetworkpolicies success',
        'delete ciliumnetworkpolicies success',
        'delete ciliumnetworkpolicies NotFound',
      ]);
    });

    it('authenticates with the bearer token of the kubeconfig file', async () => {
      const mark = server.requests.mark();
      await api.get(RESOURCES.namespaces, 'shop');
      const [request] = server.requests.query({ since: mark });
      expect(request?.user).to.equal('admin');
    });
  });
});

/** Polls `condition` until it holds; fails after a generous deadline (not a timing assertion). */
async function until(condition: () => boolean, what = 'condition', deadlineMs = 15_000): Promise<void> {
  const giveUp = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > giveUp) expect.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
