// Fault injection from tests: failures by count or probability, throttling, latency, watch faults,
// and the request counters.
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { eventually, request } from './support.js';

describe('apiserver: fault injection', function () {
  let server: TestApiServer;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles(), bookmarkIntervalMs: 10 });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } });
  });
  afterEach(() => server.faults.clear());
  after(async () => {
    await server?.stop();
  });

  it('fails the next N matching requests (by verb, resource, namespace and name) with the given status', async () => {
    const handle = server.faults.failNext(2, { verb: 'create', resource: 'configmaps', namespace: 'app', status: 500 });
    const body = (name: string) => ({ body: { metadata: { name } } });
    expect((await request(server, 'GET', '/api/v1/namespaces/app/configmaps')).status).to.equal(200);
    expect((await request(server, 'POST', '/api/v1/namespaces/app/configmaps', body('f1'))).status).to.equal(500);
    expect((await request(server, 'POST', '/api/v1/namespaces/app/configmaps', body('f1'))).status).to.equal(500);
    expect((await request(server, 'POST', '/api/v1/namespaces/app/configmaps', body('f1'))).status).to.equal(201);
    expect(handle.hits).to.equal(2);
    expect(server.requests.query({ verb: 'create', resource: 'configmaps' }).map((r) => `${r.code} ${r.injected}`)).to.deep.equal([
      '500 true',
      '500 true',
      '201 false',
    ]);

    server.faults.failNext(1, { verb: 'update', name: 'f1', status: 409 });
    const conflict = await request(server, 'PUT', '/api/v1/namespaces/app/configmaps/f1', { body: { metadata: { name: 'f1' } } });
    expect(conflict.status).to.equal(409);
    expect(conflict.json.reason).to.equal('Conflict');
    server.faults.failNext(1, { verb: 'get', resource: 'configmaps', status: 503 });
    expect((await request(server, 'GET', '/api/v1/namespaces/app/configmaps/f1')).json.reason).to.equal('ServiceUnavailable');
  });

  it('throttles with 429 and Retry-After, as client-node sees it', async () => {
    server.faults.failNext(1, { verb: 'list', resource: 'namespaces', status: 429, retryAfterSeconds: 3 });
    const api = server.kubeConfig().makeApiClient(CoreV1Api);
    const err = await api.listNamespace().then(
      () => undefined,
      (e: unknown) => e as { code: number; headers: Record<string, string> },
    );
    expect(err?.code).to.equal(429);
    expect(err?.headers['retry-after']).to.equal('3');
    expect((await api.listNamespace()).items.length).to.be.greaterThan(0);
  });

  it('fails a seeded fraction of matching requests', async () => {
    server.faults.seed(42);
    const handle = server.faults.failRandomly(0.3, { verb: 'get', resource: 'namespaces', status: 503 });
    let failed = 0;
    for (let i = 0; i < 200; i++) if ((await request(server, 'GET', '/api/v1/namespaces/app')).status === 503) failed++;
    handle.remove();
    expect(failed).to.equal(handle.hits);
    expect(failed).to.be.within(35, 85);
    expect((await request(server, 'GET', '/api/v1/namespaces/app')).status).to.equal(200);
  });

  it('adds latency to matching requests', async () => {
    server.faults.addLatency(60, { verb: 'get', resource: 'namespaces' });
    const start = Date.now();
    expect((await request(server, 'GET', '/api/v1/namespaces/app')).status).to.equal(200);
    expect(Date.now() - start).to.be.at.least(55);
  });

  it('holds only one user\'s requests, and drops a held request whose client gave up', async () => {
    const token = server.rbac.addToken({ name: 'held-user', groups: ['system:masters'] });
    server.faults.addLatency(60_000, { verb: 'create', resource: 'configmaps', user: 'held-user' });
    const admin = await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { name: 'from-admin' } } });
    expect(admin.status, 'another user is not held').to.equal(201);
    const gaveUp = new AbortController();
    const held = fetch(`${server.url}/api/v1/namespaces/app/configmaps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ metadata: { name: 'from-held-user' } }),
      signal: gaveUp.signal,
    }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.requests.query({ user: 'held-user' }), 'still held').to.deep.equal([]);
    gaveUp.abort();
    expect(await held).to.equal('aborted');
    await eventually(() => (server.requests.query({ user: 'held-user', code: 499 }).length === 1 ? true : undefined), 'held request dropped');
    expect(server.get('v1', 'configmaps', 'app', 'from-held-user'), 'a request dropped while held is never processed').to.equal(undefined);
  });

  it('closes open watches, stalls them, and expires them with 410', async () => {
    const kc = server.kubeConfig();
    const open = async () => {
      const events: string[] = [];
      let done = false;
      const controller = await new Watch(kc).watch(
        '/api/v1/namespaces/app/configmaps',
        { allowWatchBookmarks: true },
        (type, obj: { metadata?: { name?: string }; code?: number }) => events.push(type === 'ERROR' ? `ERROR ${obj.code}` : `${type} ${obj.metadata?.name ?? ''}`),
        () => (done = true),
      );
      return { events, controller, isDone: () => done };
    };

    const closed = await open();
    await eventually(() => (closed.events.some((e) => e.startsWith('BOOKMARK')) ? true : undefined), 'first bookmark');
    expect(server.faults.closeWatches({ resource: 'configmaps' })).to.equal(1);
    await eventually(() => (closed.isDone() ? true : undefined), 'client sees the watch end');

    const stalledA = await open();
    const stalledB = await open();
    await eventually(() => (server.watches.openCount({ resource: 'configmaps' }) === 2 ? true : undefined), 'two watches');
    server.faults.stallWatches({ resource: 'configmaps' });
    const newcomer = await open();
    const bookmarks = () => newcomer.events.filter((e) => e.startsWith('BOOKMARK')).length;
    // Whatever was sent before the stall has arrived once the newcomer has seen a few bookmarks.
    await eventually(() => (bookmarks() >= 3 ? true : undefined), 'newcomer bookmarks');
    const before = [stalledA.events.length, stalledB.events.length];
    await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { name: 'during-stall' } } });
    const seen = bookmarks();
    await eventually(() => (newcomer.events.includes('ADDED during-stall') && bookmarks() >= seen + 3 ? true : undefined), 'newcomer sees the event and more bookmarks');
    expect([stalledA.events.length, stalledB.events.length]).to.deep.equal(before);
    expect(stalledA.isDone() || stalledB.isDone()).to.equal(false);

    expect(server.faults.expireWatches({ resource: 'configmaps' })).to.equal(3);
    await eventually(() => (newcomer.isDone() ? true : undefined), 'expired watch ends');
    expect(newcomer.events.at(-1)).to.equal('ERROR 410');
    for (const w of [closed, stalledA, stalledB, newcomer]) w.controller.abort();
  });

  it('stalls watches opened later too, until released', async () => {
    const release = server.faults.stallWatches({ resource: 'namespaces' }, true);
    const events: string[] = [];
    const controller = await new Watch(server.kubeConfig()).watch('/api/v1/namespaces', {}, (type) => events.push(type), () => undefined);
    await eventually(() => (server.watches.openCount({ resource: 'namespaces' }) === 1 ? true : undefined), 'watch open');
    expect(events).to.deep.equal([]); // not even the initial ADDED events
    release.remove();
    controller.abort();
    const after: string[] = [];
    const again = await new Watch(server.kubeConfig()).watch('/api/v1/namespaces', {}, (type) => after.push(type), () => undefined);
    await eventually(() => (after.length > 0 ? true : undefined), 'events after release');
    again.abort();
  });

  it('keeps a bounded history: older resourceVersions get 410', async () => {
    const rv = (await request(server, 'GET', '/api/v1/namespaces/app/configmaps')).json.metadata as { resourceVersion: string };
    server.faults.setRetainedHistory(2);
    for (let i = 0; i < 3; i++) await request(server, 'POST', '/api/v1/namespaces/app/configmaps', { body: { metadata: { generateName: 'h-' } } });
    const res = await fetch(`${server.url}/api/v1/namespaces/app/configmaps?watch=true&resourceVersion=${rv.resourceVersion}`, {
      headers: { Authorization: `Bearer ${server.adminToken}` },
    });
    const event = JSON.parse((await res.text()).trim()) as { type: string; object: { code: number } };
    expect(event.type).to.equal('ERROR');
    expect(event.object.code).to.equal(410);
    server.faults.setRetainedHistory(50_000);
  });

  it('counts requests by verb and resource', async () => {
    const counters = server.requests.counters();
    expect(counters['create configmaps']).to.be.greaterThan(3);
    expect(counters['watch configmaps']).to.be.greaterThan(0);
    expect(server.requests.writes({ resource: 'configmaps' }).every((r) => ['create', 'update', 'patch', 'delete', 'deletecollection'].includes(r.verb))).to.equal(true);
    const mark = server.requests.mark();
    await request(server, 'GET', '/api/v1/namespaces');
    expect(server.requests.query({ since: mark }).map((r) => r.verb)).to.deep.equal(['list']);
  });
});
