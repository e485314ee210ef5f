// Every refusal is a Kubernetes Status with the right code and reason; garbage never crashes the
// server or produces a 5xx of its own.
import { expect } from 'chai';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { seededRandom } from '../support/apiserver/faults.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { WIDGET_CRD, request } from './support.js';

function expectStatus(json: Record<string, unknown>, code: number, reason: string): void {
  expect(json).to.include({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason });
  expect(json.metadata).to.deep.equal({});
  expect(json.message).to.be.a('string').and.not.equal('');
}

describe('apiserver: Status responses', function () {
  let server: TestApiServer;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles() });
    server.loadCrds([WIDGET_CRD]);
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
    server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'exists', namespace: 'app' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('404 NotFound with details', async () => {
    const r = await request(server, 'GET', '/apis/cilium.io/v2/namespaces/app/ciliumnetworkpolicies/missing');
    expect(r.status).to.equal(404);
    expectStatus(r.json, 404, 'NotFound');
    expect(r.json.message).to.equal('ciliumnetworkpolicies.cilium.io "missing" not found');
    expect(r.json.details).to.deep.equal({ name: 'missing', group: 'cilium.io', kind: 'ciliumnetworkpolicies' });
    const unknownResource = await request(server, 'GET', '/api/v1/namespaces/app/replicationcontrollers');
    expectStatus(unknownResource.json, 404, 'NotFound');
    expect(unknownResource.json.message).to.equal('the server could not find the requested resource');
  });

  it('409 AlreadyExists and 409 Conflict', async () => {
    const exists = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { name: 'exists' } } });
    expectStatus(exists.json, 409, 'AlreadyExists');
    expect(exists.json.message).to.equal('configmaps "exists" already exists');
    const conflict = await request(server, 'PUT', '/api/v1/namespaces/app/configmaps/exists', {
      body: { metadata: { name: 'exists', resourceVersion: '1' } },
    });
    expectStatus(conflict.json, 409, 'Conflict');
  });

  it('422 Invalid with causes', async () => {
    const r = await request(server, 'POST', '/apis/test.netpol.dev/v1/namespaces/app/widgets', {
      body: { apiVersion: 'test.netpol.dev/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { replicas: -1 } },
    });
    expectStatus(r.json, 422, 'Invalid');
    expect(r.json.details).to.deep.equal({
      name: 'w',
      group: 'test.netpol.dev',
      kind: 'Widget',
      causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1: spec.replicas in body should be greater than or equal to 0', field: 'spec.replicas' }],
    });
  });

  it('410 Expired (Gone) for a list continue token older than history', async () => {
    const first = await request(server, 'GET', '/api/v1/namespaces?limit=1');
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'newer' } });
    server.faults.compactHistory();
    const r = await request(server, 'GET', `/api/v1/namespaces?limit=1&continue=${(first.json.metadata as Record<string, string>).continue}`);
    expect(r.status).to.equal(410);
    expectStatus(r.json, 410, 'Expired');
  });

  it('403 Forbidden', async () => {
    const r = await request(server, 'DELETE', '/api/v1/namespaces/default');
    expectStatus(r.json, 403, 'Forbidden');
  });

  it('405 MethodNotAllowed', async () => {
    const post = await request(server, 'POST', '/api/v1/namespaces/app/configmaps/exists', { body: { metadata: { name: 'x' } } });
    expectStatus(post.json, 405, 'MethodNotAllowed');
    const put = await request(server, 'PUT', '/api/v1/namespaces/app/configmaps', { body: {} });
    expectStatus(put.json, 405, 'MethodNotAllowed');
    const createAcrossNamespaces = await request(server, 'POST', '/api/v1/configmaps', { body: { metadata: { name: 'x' } } });
    expectStatus(createAcrossNamespaces.json, 405, 'MethodNotAllowed');
  });

  it('415 UnsupportedMediaType', async () => {
    const r = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: '<xml/>', contentType: 'application/xml' });
    expectStatus(r.json, 415, 'UnsupportedMediaType');
    const patch = await request(server, 'PATCH', '/api/v1/namespaces/app/configmaps/exists', { body: '{}', contentType: 'text/plain' });
    expectStatus(patch.json, 415, 'UnsupportedMediaType');
  });

  it('400 BadRequest', async () => {
    const json = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: '{"metadata": ' });
    expectStatus(json.json, 400, 'BadRequest');
    const types = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { name: 'x', labels: { a: 1 } } } });
    expectStatus(types.json, 400, 'BadRequest');
    expect(types.json.message).to.equal(
      'ConfigMap in version "v1" cannot be handled as a ConfigMap: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string',
    );
    const ns = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { name: 'x', namespace: 'other' } } });
    expectStatus(ns.json, 400, 'BadRequest');
    const kind = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { kind: 'Secret', metadata: { name: 'x' } } });
    expectStatus(kind.json, 400, 'BadRequest');
    const limit = await request(server, 'GET', '/api/v1/namespaces?limit=ten');
    expectStatus(limit.json, 400, 'BadRequest');
  });

  it('401 for unknown tokens and 429 with Retry-After from injected throttling', async () => {
    const r = await request(server, 'GET', '/api/v1/namespaces', { token: 'not-a-token' });
    expectStatus(r.json, 401, 'Unauthorized');
    server.faults.failNext(1, { verb: 'list', resource: 'namespaces', status: 429, retryAfterSeconds: 7 });
    const throttled = await request(server, 'GET', '/api/v1/namespaces');
    expectStatus(throttled.json, 429, 'TooManyRequests');
    expect(throttled.headers.get('retry-after')).to.equal('7');
    expect(throttled.json.details).to.deep.equal({ retryAfterSeconds: 7 });
  });
});

describe('apiserver: fuzzing with garbage', function () {
  let server: TestApiServer;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles() });
    server.loadCrds([WIDGET_CRD]);
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
  });
  after(async () => {
    await server?.stop();
  });

  it('answers 600 random requests without an un-injected 5xx, and still works afterwards', async () => {
    const random = seededRandom(20250101);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const str = (max: number) => {
      const alphabet = 'abcXYZ019-_./:{}[]"\\ %$!\u00e9\u2603\u0000';
      let s = '';
      const n = Math.floor(random() * max);
      for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
      return s;
    };
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.2) return pick([null, true, false, 0, -1, 1.5, 1e308, '', str(12), 65536, '99999']);
      if (r < 0.5) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const obj: Record<string, unknown> = {};
      const keys = ['apiVersion', 'kind', 'metadata', 'spec', 'status', 'name', 'labels', 'finalizers', 'replicas', 'ingress', 'egress', 'toPorts', 'ports', 'port', 'endpointSelector', str(6)];
      for (let i = Math.floor(random() * 5); i > 0; i--) obj[pick(keys)] = value(depth + 1);
      return obj;
    };
    // Well-formed objects of the served kinds, then mutated: most requests reach the semantics, not the router.
    const targets = [
      { collection: '/apis/cilium.io/v2/namespaces/app/ciliumnetworkpolicies', make: (name: string) => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name }, spec: { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] } }) },
      { collection: '/apis/test.netpol.dev/v1/namespaces/app/widgets', make: (name: string) => ({ apiVersion: 'test.netpol.dev/v1', kind: 'Widget', metadata: { name }, spec: { replicas: 1 } }) },
      { collection: '/api/v1/namespaces/app/configmaps', make: (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: 'b' } }) },
      { collection: '/api/v1/namespaces', make: (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) },
    ];
    const validish = (make: (name: string) => Record<string, unknown>, name: string): Record<string, unknown> => {
      const mutated = make(name);
      for (let i = Math.floor(random() * 3); i > 0; i--) {
        const target = pick(['metadata', 'spec', 'data', 'top']);
        const holder = target === 'top' ? mutated : ((mutated[target] ?? (mutated[target] = {})) as Record<string, unknown>);
        if (typeof holder === 'object' && holder !== null) {
          (holder as Record<string, unknown>)[pick(['name', 'labels', 'finalizers', 'replicas', 'ingress', 'generateName', 'resourceVersion', 'uid', 'x'])] = value(1);
        }
      }
      return mutated;
    };
    const paths = [
      '/api/v1/namespaces',
      '/api/v1/namespaces/app',
      '/api/v1/namespaces/app/configmaps',
      '/api/v1/namespaces/app/configmaps/c1',
      '/api/v1/namespaces/app/configmaps/c1/status',
      '/api/v1/namespaces/nope/configmaps',
      '/api/v1/namespaces/app/finalize',
      '/apis/cilium.io/v2/namespaces/app/ciliumnetworkpolicies',
      '/apis/cilium.io/v2/namespaces/app/ciliumnetworkpolicies/p1',
      '/apis/cilium.io/v2/ciliumnetworkpolicies',
      '/apis/test.netpol.dev/v1/namespaces/app/widgets/w1',
      '/apis/test.netpol.dev/v1/namespaces/app/widgets/w1/status',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
      '/apis/events.k8s.io/v1/namespaces/app/events',
      '/apis/coordination.k8s.io/v1/namespaces/app/leases',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles',
      '/apis',
      '/api',
      '/openapi/v3',
      '/version',
      `/${str(20)}`,
      `/apis/${str(8)}/${str(4)}/${str(8)}`,
      '/api/v1/namespaces/%E0%A4%A/configmaps',
    ];
    const queries = ['', '?watch=true&timeoutSeconds=0', '?watch=true&resourceVersion=1', '?labelSelector=a%20in%20(', '?fieldSelector=x', '?limit=-5', '?continue=garbage', '?resourceVersion=abc', '?resourceVersion=1&resourceVersionMatch=Exact', '?dryRun=All', '?fieldValidation=Strict', '?fieldValidation=Bogus', `?labelSelector=${encodeURIComponent(str(10))}`];
    const contentTypes = ['application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/yaml', 'application/vnd.kubernetes.protobuf', 'text/plain', ''];
    const injected = server.faults.failRandomly(0.05, { status: 503 });
    const codes = new Map<number, number>();
    let injectedSeen = 0;
    for (let i = 0; i < 600; i++) {
      const method = pick(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
      let path = pick(paths) + pick(queries);
      const bodyKind = random();
      let body: string | undefined;
      if (method !== 'GET' && method !== 'OPTIONS') {
        if (bodyKind < 0.5) {
          const target = pick(targets);
          const name = pick(['a', 'b', 'c', 'd']);
          path = method === 'POST' ? target.collection : `${target.collection}/${name}${random() < 0.2 ? '/status' : ''}`;
          if (random() < 0.3) path += pick(queries);
          body = JSON.stringify(method === 'PATCH' && random() < 0.5 ? value(0) : validish(target.make, name));
        } else if (bodyKind < 0.7) body = JSON.stringify(value(0));
        else if (bodyKind < 0.8) {
          body = JSON.stringify([{ op: pick(['add', 'remove', 'replace', 'move', 'copy', 'test', 'bogus']), path: pick(['/spec', '/metadata/labels/a', '/x/0/y', '', '/spec/replicas']), value: value(2), from: '/metadata' }]);
        } else if (bodyKind < 0.9) body = str(40);
        else body = Buffer.from([0x6b, 0x38, 0x73, 0x00, ...Array.from({ length: 20 }, () => Math.floor(random() * 256))]).toString('latin1');
      }
      const headers: Record<string, string> = { Authorization: `Bearer ${server.adminToken}` };
      const ct = bodyKind < 0.5 && method !== 'PATCH' ? 'application/json' : pick(contentTypes);
      if (body !== undefined && ct !== '') headers['Content-Type'] = ct;
      const aborter = new AbortController();
      const res = await fetch(`${server.url}${path}`, { method, headers, body, signal: aborter.signal });
      const streaming = res.status === 200 && method === 'GET' && /[?&]watch=true/.test(path) && res.headers.get('transfer-encoding') === 'chunked';
      // An accepted watch stays open: its headers are the answer.
      if (streaming) aborter.abort();
      const text = streaming ? '' : await res.text();
      codes.set(res.status, (codes.get(res.status) ?? 0) + 1);
      if (res.status >= 500) {
        const last = server.requests.query().at(-1)!;
        expect(last.injected, `${method} ${path} ${ct} ${body?.slice(0, 200)} → ${res.status} ${text}`).to.equal(true);
        injectedSeen++;
      }
      if (res.status >= 400 && res.headers.get('content-type') === 'application/json') {
        const status = JSON.parse(text) as Record<string, unknown>;
        expect(status.kind, text).to.equal('Status');
        expect(status.code).to.equal(res.status);
      }
    }
    injected.remove();
    expect(injectedSeen).to.equal(injected.hits);
    expect(injectedSeen).to.be.greaterThan(0);
    expect([...codes.keys()].some((c) => c < 300)).to.equal(true);
    const version = await request(server, 'GET', '/version');
    expect(version.status).to.equal(200);
    const ns = await request(server, 'GET', '/api/v1/namespaces');
    expect(ns.status).to.equal(200);
  });
});
