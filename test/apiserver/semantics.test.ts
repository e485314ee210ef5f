// API semantics of the test API server over HTTP: metadata, concurrency, generation, status
// subresource, patches, finalizers, namespace and CRD lifecycles, lists, selectors and paging.
import { expect } from 'chai';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { WIDGET_CRD, eventually, request } from './support.js';

const WIDGETS = '/apis/test.netpol.dev/v1/namespaces/app/widgets';
const CONFIGMAPS = '/api/v1/namespaces/app/configmaps';

function widget(name: string, spec: Record<string, unknown> = { replicas: 1 }): Record<string, unknown> {
  return { apiVersion: 'test.netpol.dev/v1', kind: 'Widget', metadata: { name }, spec };
}

describe('apiserver: API semantics', function () {
  let server: TestApiServer;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles() });
    server.loadCrds([WIDGET_CRD]);
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
  });
  after(async () => {
    await server?.stop();
  });

  describe('create', () => {
    it('sets uid, creationTimestamp, a growing resourceVersion and generation 1', async () => {
      const a = await request(server, 'POST', WIDGETS, { body: widget('meta-a') });
      const b = await request(server, 'POST', WIDGETS, { body: widget('meta-b') });
      expect(a.status).to.equal(201);
      const meta = a.json.metadata as Record<string, unknown>;
      expect(meta.uid).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(meta.creationTimestamp).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(meta.generation).to.equal(1);
      expect(meta.namespace).to.equal('app');
      expect(typeof meta.resourceVersion).to.equal('string');
      expect(Number((b.json.metadata as Record<string, string>).resourceVersion)).to.be.greaterThan(Number(meta.resourceVersion));
    });

    it('generates names from generateName', async () => {
      const r = await request(server, 'POST', CONFIGMAPS, { body: { metadata: { generateName: 'gen-' } } });
      expect(r.status).to.equal(201);
      expect((r.json.metadata as Record<string, string>).name).to.match(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    it('drops status on create when status is a subresource, and applies schema defaults', async () => {
      const r = await request(server, 'POST', WIDGETS, { body: { ...widget('defaults'), status: { observedGeneration: 9 } } });
      expect(r.json).to.not.have.property('status');
      expect(r.json.spec).to.deep.equal({ color: 'red', replicas: 1 });
    });

    it('prunes unknown fields except under x-kubernetes-preserve-unknown-fields, and warns about them', async () => {
      const r = await request(server, 'POST', WIDGETS, {
        body: { ...widget('pruned', { replicas: 1, unknown: true, extra: { anything: { goes: [1] } } }), topLevel: 1 },
      });
      expect(r.status).to.equal(201);
      expect(r.json.spec).to.deep.equal({ color: 'red', extra: { anything: { goes: [1] } }, replicas: 1 });
      expect(r.json).to.not.have.property('topLevel');
      expect(r.headers.get('warning')).to.equal('299 - "unknown field \\"spec.unknown\\"", 299 - "unknown field \\"topLevel\\""');
    });

    it('refuses objects in a namespace that does not exist, like the real server', async () => {
      const r = await request(server, 'POST', '/api/v1/namespaces/nowhere/configmaps', { body: { metadata: { name: 'x' } } });
      expect(r.status).to.equal(404);
      expect(r.json).to.deep.equal({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'namespaces "nowhere" not found',
        reason: 'NotFound',
        details: { name: 'nowhere', kind: 'namespaces' },
        code: 404,
      });
    });

    it('validates names and labels (422 with causes)', async () => {
      const r = await request(server, 'POST', CONFIGMAPS, { body: { metadata: { name: 'Bad_Name', labels: { 'a/b/c': 'x' } } } });
      expect(r.status).to.equal(422);
      expect(r.json.reason).to.equal('Invalid');
      expect(r.json.message).to.match(/^ConfigMap "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
      const causes = (r.json.details as { causes: { field: string; reason: string }[] }).causes;
      expect(causes.map((c) => `${c.reason} ${c.field}`)).to.deep.equal(['FieldValueInvalid metadata.name', 'FieldValueInvalid metadata.labels']);
    });

    it('reports every schema violation of a custom resource with field paths', async () => {
      const r = await request(server, 'POST', WIDGETS, {
        body: widget('invalid', { replicas: 11, color: 'pink', ports: [{ port: 99999, protocol: 'TCP' }, { port: 'http' }] }),
      });
      expect(r.status).to.equal(422);
      expect(r.json.message).to.equal(
        'Widget.test.netpol.dev "invalid" is invalid: [' +
          'spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10, ' +
          'spec.color: Unsupported value: "pink": supported values: "red", "green", "blue", ' +
          'spec.ports[0].port: Invalid value: 99999: spec.ports[0].port in body should be less than or equal to 65535, ' +
          'spec.ports[1].port: Invalid value: "string": spec.ports[1].port in body must be of type integer: "string", ' +
          '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]',
      );
      expect(r.json.details).to.deep.include({ name: 'invalid', group: 'test.netpol.dev', kind: 'Widget' });
      const missing = await request(server, 'POST', WIDGETS, { body: widget('no-replicas', {}) });
      expect(missing.json.message).to.equal(
        'Widget.test.netpol.dev "no-replicas" is invalid: [spec.replicas: Required value, <nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation]',
      );
    });

    it('checks x-kubernetes-validations rules (CEL), at the root and nested', async () => {
      const long = await request(server, 'POST', WIDGETS, { body: widget('a-name-longer-than-twenty') });
      expect(long.status).to.equal(422);
      expect(long.json.message).to.equal(
        'Widget.test.netpol.dev "a-name-longer-than-twenty" is invalid: <nil>: Invalid value: "object": metadata.name must be at most 20 characters',
      );
      const blue = await request(server, 'POST', WIDGETS, { body: widget('blue', { replicas: 9, color: 'blue' }) });
      expect(blue.json.message).to.equal('Widget.test.netpol.dev "blue" is invalid: spec: Invalid value: "object": only red widgets scale past 8');
      expect((await request(server, 'POST', WIDGETS, { body: widget('red', { replicas: 9 }) })).status).to.equal(201);
    });

    it('honours dryRun=All without storing', async () => {
      const r = await request(server, 'POST', `${CONFIGMAPS}?dryRun=All`, { body: { metadata: { name: 'dry' } } });
      expect(r.status).to.equal(201);
      expect(server.get('v1', 'ConfigMap', 'app', 'dry')).to.equal(undefined);
    });
  });

  describe('update and optimistic concurrency', () => {
    it('rejects a stale resourceVersion with 409 Conflict and accepts the current one', async () => {
      const created = await request(server, 'POST', CONFIGMAPS, { body: { metadata: { name: 'occ' }, data: { v: '1' } } });
      const rv = (created.json.metadata as Record<string, string>).resourceVersion;
      const first = await request(server, 'PUT', `${CONFIGMAPS}/occ`, { body: { metadata: { name: 'occ', resourceVersion: rv }, data: { v: '2' } } });
      expect(first.status).to.equal(200);
      const stale = await request(server, 'PUT', `${CONFIGMAPS}/occ`, { body: { metadata: { name: 'occ', resourceVersion: rv }, data: { v: '3' } } });
      expect(stale.status).to.equal(409);
      expect(stale.json).to.deep.include({
        reason: 'Conflict',
        message: 'Operation cannot be fulfilled on configmaps "occ": the object has been modified; please apply your changes to the latest version and try again',
        details: { name: 'occ', kind: 'configmaps' },
      });
      const unconditional = await request(server, 'PUT', `${CONFIGMAPS}/occ`, { body: { metadata: { name: 'occ' }, data: { v: '4' } } });
      expect(unconditional.status).to.equal(200);
      expect(server.get('v1', 'ConfigMap', 'app', 'occ')!.data).to.deep.equal({ v: '4' });
    });

    it('a no-op update keeps the resourceVersion', async () => {
      const current = server.get('v1', 'ConfigMap', 'app', 'occ')!;
      const same = await request(server, 'PUT', `${CONFIGMAPS}/occ`, { body: current });
      expect((same.json.metadata as Record<string, string>).resourceVersion).to.equal(current.metadata.resourceVersion);
    });

    it('404 for updates of missing objects and 400 for a name that differs from the URL', async () => {
      expect((await request(server, 'PUT', `${CONFIGMAPS}/missing`, { body: { metadata: { name: 'missing' } } })).status).to.equal(404);
      const other = await request(server, 'PUT', `${CONFIGMAPS}/occ`, { body: { metadata: { name: 'other' } } });
      expect(other.status).to.equal(400);
      expect(other.json.message).to.equal('the name of the object (other) does not match the name on the URL (occ)');
    });

    it('bumps generation on spec changes only; status is a subresource both ways', async () => {
      await request(server, 'POST', WIDGETS, { body: widget('gen') });
      const labelled = await request(server, 'PATCH', `${WIDGETS}/gen`, {
        body: { metadata: { labels: { a: 'b' } }, status: { observedGeneration: 5 } },
        contentType: 'application/merge-patch+json',
      });
      expect((labelled.json.metadata as Record<string, number>).generation).to.equal(1);
      expect(labelled.json).to.not.have.property('status');
      const spec = await request(server, 'PATCH', `${WIDGETS}/gen`, { body: { spec: { replicas: 2 } }, contentType: 'application/merge-patch+json' });
      expect((spec.json.metadata as Record<string, number>).generation).to.equal(2);
      const status = await request(server, 'PUT', `${WIDGETS}/gen/status`, {
        body: { ...spec.json, spec: { replicas: 9 }, metadata: { ...(spec.json.metadata as object), labels: {} }, status: { observedGeneration: 2 } },
      });
      expect(status.status).to.equal(200);
      expect(status.json.status).to.deep.equal({ observedGeneration: 2 });
      expect(status.json.spec).to.deep.equal({ color: 'red', replicas: 2 });
      expect((status.json.metadata as Record<string, unknown>).labels).to.deep.equal({ a: 'b' });
      expect((status.json.metadata as Record<string, number>).generation).to.equal(2);
      const invalidStatus = await request(server, 'PATCH', `${WIDGETS}/gen/status`, {
        body: { status: { observedGeneration: 'x' } },
        contentType: 'application/merge-patch+json',
      });
      expect(invalidStatus.status).to.equal(422);
    });
  });

  describe('patch', () => {
    it('applies JSON patches, and a failed test operation is 422', async () => {
      const ok = await request(server, 'PATCH', `${WIDGETS}/gen`, {
        body: [
          { op: 'test', path: '/spec/replicas', value: 2 },
          { op: 'replace', path: '/spec/replicas', value: 3 },
          { op: 'add', path: '/metadata/annotations', value: { 'x/y': 'z' } },
        ],
        contentType: 'application/json-patch+json',
      });
      expect(ok.status).to.equal(200);
      expect((ok.json.spec as Record<string, number>).replicas).to.equal(3);
      const failed = await request(server, 'PATCH', `${WIDGETS}/gen`, {
        body: [{ op: 'test', path: '/spec/replicas', value: 2 }],
        contentType: 'application/json-patch+json',
      });
      expect(failed.status).to.equal(422);
    });

    it('accepts strategic merge patches for built-ins only (415 for custom resources)', async () => {
      const cm = await request(server, 'PATCH', `${CONFIGMAPS}/occ`, {
        body: { metadata: { labels: { tier: 'web' }, finalizers: ['example.com/a'] }, data: { w: '1' } },
        contentType: 'application/strategic-merge-patch+json',
      });
      expect(cm.status).to.equal(200);
      expect(cm.json.data).to.deep.equal({ v: '4', w: '1' });
      const cm2 = await request(server, 'PATCH', `${CONFIGMAPS}/occ`, {
        body: { metadata: { finalizers: ['example.com/b'] } },
        contentType: 'application/strategic-merge-patch+json',
      });
      expect((cm2.json.metadata as Record<string, unknown>).finalizers).to.deep.equal(['example.com/a', 'example.com/b']);
      await request(server, 'PATCH', `${CONFIGMAPS}/occ`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
      const cr = await request(server, 'PATCH', `${WIDGETS}/gen`, { body: { spec: {} }, contentType: 'application/strategic-merge-patch+json' });
      expect(cr.status).to.equal(415);
      expect(cr.json.message).to.equal(
        'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    });

    it('server-side apply creates missing objects', async () => {
      const r = await request(server, 'PATCH', `${CONFIGMAPS}/applied?fieldManager=test`, {
        body: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  k: v\n',
        contentType: 'application/apply-patch+yaml',
      });
      expect(r.status).to.equal(201);
      expect(server.get('v1', 'ConfigMap', 'app', 'applied')!.data).to.deep.equal({ k: 'v' });
    });
  });

  describe('delete and finalizers', () => {
    it('checks uid and resourceVersion preconditions', async () => {
      const created = await request(server, 'POST', CONFIGMAPS, { body: { metadata: { name: 'pre' } } });
      const meta = created.json.metadata as Record<string, string>;
      const uid = await request(server, 'DELETE', `${CONFIGMAPS}/pre`, { body: { preconditions: { uid: 'nope' } } });
      expect(uid.status).to.equal(409);
      expect(uid.json.message).to.equal(`Operation cannot be fulfilled on configmaps "pre": Precondition failed: UID in precondition: nope, UID in object meta: ${meta.uid}`);
      const rv = await request(server, 'DELETE', `${CONFIGMAPS}/pre`, { body: { preconditions: { resourceVersion: '1' } } });
      expect(rv.status).to.equal(409);
      const ok = await request(server, 'DELETE', `${CONFIGMAPS}/pre`, {
        body: { preconditions: { uid: meta.uid, resourceVersion: meta.resourceVersion }, propagationPolicy: 'Foreground' },
      });
      expect(ok.status).to.equal(200);
      expect(ok.json).to.deep.include({ kind: 'Status', status: 'Success' });
      expect((await request(server, 'GET', `${CONFIGMAPS}/pre`)).status).to.equal(404);
    });

    it('keeps an object with finalizers until they are removed', async () => {
      await request(server, 'POST', WIDGETS, { body: { ...widget('fin'), metadata: { name: 'fin', finalizers: ['example.com/keep'] } } });
      const del = await request(server, 'DELETE', `${WIDGETS}/fin`);
      expect(del.status).to.equal(200);
      const pending = del.json.metadata as Record<string, unknown>;
      expect(pending.deletionTimestamp).to.match(/Z$/);
      expect(pending.deletionGracePeriodSeconds).to.equal(0);
      const addFinalizer = await request(server, 'PATCH', `${WIDGETS}/fin`, {
        body: { metadata: { finalizers: ['example.com/keep', 'example.com/more'] } },
        contentType: 'application/merge-patch+json',
      });
      expect(addFinalizer.status).to.equal(422);
      expect(addFinalizer.json.message).to.include('no new finalizers can be added if the object is being deleted');
      const tryChange = await request(server, 'PATCH', `${WIDGETS}/fin`, { body: { spec: { replicas: 4 } }, contentType: 'application/merge-patch+json' });
      expect(tryChange.status).to.equal(200);
      const removed = await request(server, 'PATCH', `${WIDGETS}/fin`, { body: { metadata: { finalizers: null } }, contentType: 'application/merge-patch+json' });
      expect(removed.status).to.equal(200);
      expect((await request(server, 'GET', `${WIDGETS}/fin`)).status).to.equal(404);
    });

    it('terminates a namespace: Terminating phase, creates refused with 403, content removed, then gone', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'plain', namespace: 'doomed' } });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'held', namespace: 'doomed', finalizers: ['example.com/hold'] } });
      const del = await request(server, 'DELETE', '/api/v1/namespaces/doomed');
      expect(del.status).to.equal(200);
      expect(del.json.status).to.deep.equal({ phase: 'Terminating' });
      await eventually(() => (server.get('v1', 'ConfigMap', 'doomed', 'plain') ? undefined : true), 'plain content deleted');
      expect(server.get('v1', 'ConfigMap', 'doomed', 'held')!.metadata.deletionTimestamp).to.be.a('string');
      const refused = await request(server, 'POST', '/api/v1/namespaces/doomed/configmaps', { body: { metadata: { name: 'late' } } });
      expect(refused.status).to.equal(403);
      expect(refused.json).to.deep.include({
        reason: 'Forbidden',
        message: 'configmaps "late" is forbidden: unable to create new content in namespace doomed because it is being terminated',
      });
      expect(server.get('v1', 'Namespace', undefined, 'doomed')!.status).to.deep.equal({ phase: 'Terminating' });
      await request(server, 'PATCH', '/api/v1/namespaces/doomed/configmaps/held', {
        body: { metadata: { finalizers: null } },
        contentType: 'application/merge-patch+json',
      });
      await eventually(() => (server.get('v1', 'Namespace', undefined, 'doomed') ? undefined : true), 'namespace gone');
    });

    it('does not delete the default namespaces', async () => {
      const r = await request(server, 'DELETE', '/api/v1/namespaces/kube-system');
      expect(r.status).to.equal(403);
      expect(r.json.message).to.equal('namespaces "kube-system" is forbidden: this namespace may not be deleted');
    });
  });

  describe('list', () => {
    before(() => {
      const labels: Record<string, Record<string, string>> = {
        l1: { tier: 'web', env: 'prod' },
        l2: { tier: 'web', env: 'dev' },
        l3: { tier: 'db', env: 'prod' },
        l4: { tier: 'cache' },
        l5: {},
      };
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'lists' } });
      for (const [name, l] of Object.entries(labels)) server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'lists', labels: l } });
    });
    const names = async (query: string) => {
      const r = await request(server, 'GET', `/api/v1/namespaces/lists/configmaps?${query}`);
      expect(r.status, r.text).to.equal(200);
      return (r.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    };

    it('filters with every label selector operator', async () => {
      expect(await names('labelSelector=tier%3Dweb')).to.deep.equal(['l1', 'l2']);
      expect(await names('labelSelector=tier%3D%3Dweb,env%3Dprod')).to.deep.equal(['l1']);
      expect(await names('labelSelector=tier!%3Dweb')).to.deep.equal(['l3', 'l4', 'l5']);
      expect(await names(`labelSelector=${encodeURIComponent('tier in (db, cache)')}`)).to.deep.equal(['l3', 'l4']);
      expect(await names(`labelSelector=${encodeURIComponent('env notin (prod)')}`)).to.deep.equal(['l2', 'l4', 'l5']);
      expect(await names('labelSelector=env')).to.deep.equal(['l1', 'l2', 'l3']);
      expect(await names('labelSelector=!env')).to.deep.equal(['l4', 'l5']);
      const bad = await request(server, 'GET', `/api/v1/namespaces/lists/configmaps?labelSelector=${encodeURIComponent('tier in (')}`);
      expect(bad.status).to.equal(400);
    });

    it('filters with metadata.name and metadata.namespace field selectors', async () => {
      expect(await names('fieldSelector=metadata.name%3Dl2')).to.deep.equal(['l2']);
      expect(await names('fieldSelector=metadata.name!%3Dl2,metadata.namespace%3Dlists')).to.deep.equal(['l1', 'l3', 'l4', 'l5']);
      const all = await request(server, 'GET', '/api/v1/configmaps?fieldSelector=metadata.namespace%3Dlists');
      expect((all.json.items as unknown[]).length).to.equal(5);
      const bad = await request(server, 'GET', '/api/v1/configmaps?fieldSelector=spec.nope%3D1');
      expect(bad.status).to.equal(400);
      expect(bad.json.message).to.equal('field label not supported: spec.nope');
    });

    it('pages with limit/continue at the first page\'s resourceVersion', async () => {
      const first = await request(server, 'GET', '/api/v1/namespaces/lists/configmaps?limit=2');
      const meta = first.json.metadata as Record<string, unknown>;
      expect((first.json.items as unknown[]).length).to.equal(2);
      expect(meta.remainingItemCount).to.equal(3);
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l9', namespace: 'lists' } });
      server.delete('v1', 'ConfigMap', 'lists', 'l4');
      const second = await request(server, 'GET', `/api/v1/namespaces/lists/configmaps?limit=2&continue=${meta.continue as string}`);
      const third = await request(server, 'GET', `/api/v1/namespaces/lists/configmaps?limit=2&continue=${(second.json.metadata as Record<string, string>).continue}`);
      const paged = [first, second, third].flatMap((r) => (r.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name));
      expect(paged).to.deep.equal(['l1', 'l2', 'l3', 'l4', 'l5']);
      expect((second.json.metadata as Record<string, string>).resourceVersion).to.equal(meta.resourceVersion);
      expect(third.json.metadata).to.not.have.property('continue');
      expect(await names('')).to.deep.equal(['l1', 'l2', 'l3', 'l5', 'l9']);
    });

    it('answers a continue token older than the retained history with 410 Expired', async () => {
      const first = await request(server, 'GET', '/api/v1/namespaces/lists/configmaps?limit=1');
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l10', namespace: 'lists' } });
      server.faults.compactHistory();
      const gone = await request(server, 'GET', `/api/v1/namespaces/lists/configmaps?limit=1&continue=${(first.json.metadata as Record<string, string>).continue}`);
      expect(gone.status).to.equal(410);
      expect(gone.json.reason).to.equal('Expired');
      expect(gone.json.message).to.match(/^The provided continue parameter is too old/);
    });

    it('lists at an exact older resourceVersion, and deletes a selected collection', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'coll' } });
      for (const name of ['a', 'b', 'c']) server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'coll', labels: { drop: name === 'c' ? 'no' : 'yes' } } });
      const before = await request(server, 'GET', '/api/v1/namespaces/coll/configmaps');
      const rv = (before.json.metadata as Record<string, string>).resourceVersion;
      const deleted = await request(server, 'DELETE', '/api/v1/namespaces/coll/configmaps?labelSelector=drop%3Dyes');
      expect(deleted.status).to.equal(200);
      expect((deleted.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['a', 'b']);
      expect(server.list('v1', 'ConfigMap', 'coll').map((o) => o.metadata.name)).to.deep.equal(['c']);
      const exact = await request(server, 'GET', `/api/v1/namespaces/coll/configmaps?resourceVersion=${rv}&resourceVersionMatch=Exact`);
      expect((exact.json.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).to.deep.equal(['a', 'b', 'c']);
    });

    it('serves Tables and metadata-only lists on request', async () => {
      const table = await request(server, 'GET', '/api/v1/namespaces/lists/configmaps?labelSelector=tier%3Dweb', {
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
      });
      expect(table.json.kind).to.equal('Table');
      expect((table.json.columnDefinitions as { name: string }[]).map((c) => c.name)).to.deep.equal(['Name', 'Data', 'Age']);
      expect((table.json.rows as { cells: unknown[] }[]).map((r) => r.cells.slice(0, 2))).to.deep.equal([
        ['l1', 0],
        ['l2', 0],
      ]);
      const partial = await request(server, 'GET', '/api/v1/namespaces/lists/configmaps/l1', {
        accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
      });
      expect(partial.json.kind).to.equal('PartialObjectMetadata');
      const protobufOnly = await request(server, 'GET', '/api/v1/namespaces/lists/configmaps/l1', { accept: 'application/vnd.kubernetes.protobuf' });
      expect(protobufOnly.status).to.equal(406);
    });
  });

  describe('kinds', () => {
    it('serves core Events and events.k8s.io Events from one storage', async () => {
      const created = await request(server, 'POST', '/apis/events.k8s.io/v1/namespaces/app/events', {
        body: {
          metadata: { name: 'ev1' },
          eventTime: '2025-01-02T03:04:05.123Z',
          reportingController: 'netpol-profiles',
          reportingInstance: 'netpol-profiles-0',
          action: 'Reconcile',
          reason: 'PoliciesApplied',
          type: 'Normal',
          note: 'applied 2 policies',
          regarding: { kind: 'Namespace', name: 'app', apiVersion: 'v1' },
        },
      });
      expect(created.status, created.text).to.equal(201);
      expect(created.json.eventTime).to.equal('2025-01-02T03:04:05.123000Z');
      const core = await request(server, 'GET', '/api/v1/namespaces/app/events/ev1');
      expect(core.json).to.deep.include({
        apiVersion: 'v1',
        kind: 'Event',
        message: 'applied 2 policies',
        reason: 'PoliciesApplied',
        reportingComponent: 'netpol-profiles',
        involvedObject: { kind: 'Namespace', name: 'app', apiVersion: 'v1' },
      });
      const byReason = await request(server, 'GET', '/api/v1/events?fieldSelector=reason%3DPoliciesApplied,involvedObject.name%3Dapp');
      expect((byReason.json.items as unknown[]).length).to.equal(1);
      const invalid = await request(server, 'POST', '/apis/events.k8s.io/v1/namespaces/app/events', { body: { metadata: { name: 'ev2' } } });
      expect(invalid.status).to.equal(422);
    });

    it('stores Leases with MicroTime precision', async () => {
      const r = await request(server, 'POST', '/apis/coordination.k8s.io/v1/namespaces/app/leases', {
        body: { metadata: { name: 'netpol-profiles' }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2025-01-02T03:04:05.5Z' } },
      });
      expect(r.json.spec).to.deep.equal({ holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: '2025-01-02T03:04:05.500000Z' });
      const bad = await request(server, 'POST', '/apis/coordination.k8s.io/v1/namespaces/app/leases', {
        body: { metadata: { name: 'bad' }, spec: { leaseDurationSeconds: 'long' } },
      });
      expect(bad.status).to.equal(400);
    });

    it('serves a CRD\'s resources once created and removes them with it', async () => {
      const crd = structuredClone(WIDGET_CRD);
      crd.metadata.name = 'gadgets.test.netpol.dev';
      crd.spec.names = { kind: 'Gadget', plural: 'gadgets' };
      crd.spec.scope = 'Cluster';
      const created = await request(server, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', { body: crd });
      expect(created.status).to.equal(201);
      const gadget = { apiVersion: 'test.netpol.dev/v1', kind: 'Gadget', metadata: { name: 'g1' }, spec: { replicas: 1 } };
      expect((await request(server, 'POST', '/apis/test.netpol.dev/v1/gadgets', { body: gadget })).status).to.equal(201);
      const discovery = await request(server, 'GET', '/apis/test.netpol.dev/v1');
      expect((discovery.json.resources as { name: string }[]).map((r) => r.name)).to.include.members(['gadgets', 'gadgets/status', 'widgets']);
      const stored = server.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'gadgets.test.netpol.dev')!;
      expect((stored.status as { conditions: { type: string }[] }).conditions.map((c) => c.type)).to.deep.equal(['NamesAccepted', 'Established']);
      await request(server, 'DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.test.netpol.dev');
      await eventually(() => (server.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'gadgets.test.netpol.dev') ? undefined : true), 'CRD gone');
      expect((await request(server, 'GET', '/apis/test.netpol.dev/v1/gadgets')).status).to.equal(404);
      const badCrd = await request(server, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
        body: { ...crd, metadata: { name: 'wrong.name' } },
      });
      expect(badCrd.status).to.equal(422);
      expect(badCrd.json.message).to.include('metadata.name: Invalid value: "wrong.name": must be spec.names.plural+"."+spec.group');
    });
  });
});
