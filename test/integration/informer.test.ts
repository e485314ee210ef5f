// ListWatchCache against the test API server over real HTTP: it mirrors the server through adds,
// updates and deletes, and recovers from closed watches, compacted history, stalls, failing lists
// and an absent server, healing what it missed; stop() leaves nothing running.
import { KubeConfig } from '@kubernetes/client-node';
import { expect } from 'chai';
import { createServer } from 'node:net';
import type { KubeApi, ListOptions, ListResult } from '../../src/kube/api.js';
import { HttpKubeApi } from '../../src/kube/http-api.js';
import { ListWatchCache, type CacheEvent, type ListWatchCacheOptions, type RestartReason } from '../../src/kube/informer.js';
import { RESOURCES, type ResourceRef } from '../../src/kube/resources.js';
import type { KubeObject } from '../../src/kube/types.js';
import { TestApiServer } from '../support/apiserver/server.js';
import type { KubeObject as StoredObject } from '../support/apiserver/types.js';

const CONFIGMAPS = RESOURCES.configMaps;

function configMap(name: string, namespace = 'shop', data: Record<string, string> = {}, labels: Record<string, string> = {}): StoredObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data };
}

/** Polls `condition` until it holds; fails only after a generous deadline (not a timing assertion). */
async function until(condition: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const giveUp = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > giveUp) expect.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function apiFor(server: TestApiServer): HttpKubeApi {
  const kc = new KubeConfig();
  kc.loadFromFile(server.kubeconfigPath);
  return new HttpKubeApi(kc);
}

/** A cache plus everything it reported, stopped by `afterEach`. */
class Recorder<T extends KubeObject = KubeObject> {
  readonly events: CacheEvent<T>[] = [];
  readonly restarts: RestartReason[] = [];
  readonly cache: ListWatchCache<T>;

  constructor(options: Omit<ListWatchCacheOptions<T>, 'onChange' | 'onRestart'>) {
    this.cache = new ListWatchCache<T>({
      backoff: { baseMs: 20, capMs: 200 },
      ...options,
      onChange: (event) => this.events.push(event),
      onRestart: (reason) => this.restarts.push(reason),
    });
  }

  /** `added shop/a` lines of the events so far (from index `from`). */
  changes(from = 0): string[] {
    return this.events.slice(from).map((e) => `${e.type} ${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name ?? ''}`);
  }

  dataOf(name: string, namespace = 'shop'): unknown {
    return this.cache.get(name, namespace)?.data;
  }
}

describe('ListWatchCache against the test API server', function () {
  let server: TestApiServer;
  let api: HttpKubeApi;
  let recorders: Recorder[] = [];

  const record = <T extends KubeObject = KubeObject>(options: Partial<Omit<ListWatchCacheOptions<T>, 'onChange' | 'onRestart'>> & { resource?: ResourceRef } = {}): Recorder<T> => {
    const recorder = new Recorder<T>({ api, resource: CONFIGMAPS, namespace: 'shop', ...options });
    recorders.push(recorder as unknown as Recorder);
    return recorder;
  };

  const listRequests = (since: number) => server.requests.query({ verb: 'list', resource: 'configmaps', since }).length;
  const openWatches = () => server.watches.openCount({ resource: 'configmaps' });

  beforeEach(async () => {
    server = await TestApiServer.start({ bookmarkIntervalMs: 100 });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'blog' } });
    api = apiFor(server);
  });

  afterEach(async () => {
    await Promise.all(recorders.map((r) => r.cache.stop()));
    recorders = [];
    api.close();
    await server.stop();
  });

  it('syncs, then follows adds, updates and deletes', async () => {
    server.apply(configMap('a', 'shop', { v: '1' }));
    server.apply(configMap('b', 'shop'));
    server.apply(configMap('elsewhere', 'blog'));
    const r = record();
    expect(r.cache.hasSynced()).to.equal(false);
    r.cache.start();
    await r.cache.waitForSync();
    expect(r.cache.hasSynced()).to.equal(true);
    expect(r.cache.size).to.equal(2);
    expect(r.cache.lastSyncResourceVersion).to.match(/^\d+$/);
    expect(r.changes()).to.have.members(['added shop/a', 'added shop/b']);
    expect(r.cache.get('elsewhere', 'blog')).to.equal(undefined);

    const mark = r.events.length;
    server.apply(configMap('c', 'shop'));
    server.apply(configMap('a', 'shop', { v: '2' }));
    server.delete('v1', 'ConfigMap', 'shop', 'b');
    await until(() => r.events.length >= mark + 3, 'three changes');
    expect(r.changes(mark)).to.deep.equal(['added shop/c', 'updated shop/a', 'deleted shop/b']);
    const updated = r.events[mark + 1]!;
    expect(updated.old?.data).to.deep.equal({ v: '1' });
    expect(updated.object.data).to.deep.equal({ v: '2' });
    expect(r.cache.list().map((o) => o.metadata?.name).sort()).to.deep.equal(['a', 'c']);
    expect(r.cache.listByNamespace('shop').map((o) => o.metadata?.name).sort()).to.deep.equal(['a', 'c']);
    expect(r.cache.listByNamespace('blog')).to.deep.equal([]);
  });

  it('caches cluster-scoped objects in every namespace, and follows a label selector', async () => {
    const namespaces = record({ resource: RESOURCES.namespaces, namespace: undefined, labelSelector: 'network-policy.homelab/profile' });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web', labels: { 'network-policy.homelab/profile': 'standard' } } });
    namespaces.cache.start();
    await namespaces.cache.waitForSync();
    expect(namespaces.cache.list().map((o) => o.metadata?.name)).to.deep.equal(['web']);
    expect(namespaces.cache.get('web')?.kind).to.equal('Namespace');

    // Losing the label takes it out of the selection: a delete for this cache.
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web', labels: {} } });
    await until(() => namespaces.cache.size === 0, 'web to leave the selection');
    expect(namespaces.changes()).to.deep.equal(['added /web', 'deleted /web']);
  });

  it('re-watches from the last resourceVersion when the server closes its watches: no relist, nothing missed', async () => {
    server.apply(configMap('a'));
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    const mark = server.requests.mark();

    for (let round = 0; round < 3; round++) {
      server.faults.closeWatches({ resource: 'configmaps' });
      // Changed while no watch is open: the next watch replays them from the cache's resourceVersion.
      server.apply(configMap(`during-${round}`));
      server.apply(configMap('a', 'shop', { round: String(round) }));
      await until(() => r.cache.get(`during-${round}`) !== undefined && openWatches() === 1, `round ${round} to be seen`);
    }
    await until(() => (r.dataOf('a') as Record<string, string> | undefined)?.round === '2', 'the last update');
    expect(r.restarts.filter((x) => x === 'closed')).to.have.length.greaterThanOrEqual(3);
    expect(r.restarts).not.to.include('gone');
    expect(listRequests(mark)).to.equal(0);
    expect(r.changes(1).filter((c) => c.startsWith('added'))).to.deep.equal(['added shop/during-0', 'added shop/during-1', 'added shop/during-2']);
  });

  it('relists after compacted history (410) and emits the delete it missed while disconnected', async () => {
    server.apply(configMap('keep'));
    server.apply(configMap('doomed'));
    server.apply(configMap('edited', 'shop', { v: '1' }));
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    const mark = r.events.length;
    const lists = server.requests.mark();

    // In one tick, so the cache cannot re-watch in between: drop the watch, change things, and
    // forget the history it would need to catch up.
    server.faults.closeWatches({ resource: 'configmaps' });
    server.delete('v1', 'ConfigMap', 'shop', 'doomed');
    server.apply(configMap('edited', 'shop', { v: '2' }));
    server.apply(configMap('new'));
    server.faults.compactHistory();

    await until(() => r.cache.get('doomed') === undefined && r.cache.get('new') !== undefined, 'the relist');
    expect(r.restarts).to.include('gone');
    expect(listRequests(lists)).to.be.greaterThanOrEqual(1);
    expect(r.changes(mark)).to.have.members(['deleted shop/doomed', 'updated shop/edited', 'added shop/new']);
    expect(r.dataOf('edited')).to.deep.equal({ v: '2' });
    expect(r.dataOf('keep')).to.deep.equal({});
  });

  it('relists when a watch gets a 410 ERROR event', async () => {
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    const lists = server.requests.mark();
    server.faults.expireWatches({ resource: 'configmaps' });
    await until(() => r.restarts.includes('gone') && listRequests(lists) >= 1 && openWatches() === 1, 'relist and re-watch');
    server.apply(configMap('after'));
    await until(() => r.cache.get('after') !== undefined, 'an event on the new watch');
  });

  it('relists when the watch stalls (no event or bookmark for stallTimeoutMs)', async () => {
    server.apply(configMap('a'));
    const r = record({ stallTimeoutMs: 1000 });
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    const lists = server.requests.mark();
    server.faults.stallWatches({ resource: 'configmaps' });
    server.apply(configMap('unseen-until-relist'));
    await until(() => r.cache.get('unseen-until-relist') !== undefined, 'the relist after the stall');
    expect(r.restarts).to.include('stall');
    expect(listRequests(lists)).to.be.greaterThanOrEqual(1);
    // Bookmarks every 100 ms keep a healthy watch from ever looking stalled.
    const stalls = r.restarts.filter((x) => x === 'stall').length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(r.restarts.filter((x) => x === 'stall').length).to.equal(stalls);
  });

  it('retries failing lists with backoff and syncs when the server recovers', async () => {
    server.apply(configMap('a'));
    const fault = server.faults.failNext(4, { verb: 'list', resource: 'configmaps', status: 500 });
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    expect(fault.hits).to.equal(4);
    expect(r.restarts.filter((x) => x === 'error')).to.have.length(4);
    expect(r.cache.get('a')).not.to.equal(undefined);
  });

  it('retries a failing watch from the same resourceVersion, without relisting', async () => {
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    const lists = server.requests.mark();
    const fault = server.faults.failNext(3, { verb: 'watch', resource: 'configmaps', status: 500 });
    server.faults.closeWatches({ resource: 'configmaps' });
    server.apply(configMap('while-failing'));
    await until(() => r.cache.get('while-failing') !== undefined, 'the change after the failures');
    expect(fault.hits).to.equal(3);
    expect(r.restarts.filter((x) => x === 'error')).to.have.length(3);
    expect(listRequests(lists)).to.equal(0);
  });

  it('keeps retrying a forbidden watch (403) and recovers once RBAC allows it', async () => {
    server.rbac.enabled = true;
    const grant = (name: string, verbs: string[]) => {
      server.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: 'shop' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs }] });
      server.apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: 'shop' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'shop' }],
      });
    };
    grant('list-only', ['list']);
    const readerApi = new HttpKubeApi(server.kubeConfig(server.serviceAccountToken('shop', 'reader')));
    try {
      server.apply(configMap('a'));
      const r = record({ api: readerApi });
      r.cache.start();
      await r.cache.waitForSync();
      await until(() => r.restarts.filter((x) => x === 'error').length >= 3, 'forbidden watches to be retried');
      expect(server.requests.query({ verb: 'watch', resource: 'configmaps', code: 403 }).length).to.be.greaterThanOrEqual(3);

      grant('watch-too', ['watch']);
      await until(() => openWatches() === 1, 'the watch to be allowed');
      server.apply(configMap('b'));
      await until(() => r.cache.get('b') !== undefined, 'an event on the allowed watch');
      await r.cache.stop();
    } finally {
      readerApi.close();
      server.rbac.enabled = false;
    }
  });

  it('never gives up on a server that is not there yet (connection refused, then up)', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'late', server: `http://127.0.0.1:${port}`, skipTLSVerify: false }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'late', cluster: 'late', user: 'u' }],
      currentContext: 'late',
    });
    const lateApi = new HttpKubeApi(kc);
    const r = record({ api: lateApi, namespace: 'default' });
    r.cache.start();
    await until(() => r.restarts.length >= 5, 'several failed attempts');
    expect(new Set(r.restarts)).to.deep.equal(new Set(['error']));
    expect(r.cache.hasSynced()).to.equal(false);

    const late = await TestApiServer.start({ port, bookmarkIntervalMs: 100 });
    try {
      late.apply(configMap('hello', 'default'));
      await r.cache.waitForSync();
      expect(r.cache.get('hello', 'default')).not.to.equal(undefined);
      await r.cache.stop();
    } finally {
      lateApi.close();
      await late.stop();
    }
  });

  it('pages the initial list and holds every object', async () => {
    for (let i = 0; i < 300; i++) server.apply(configMap(`cm-${String(i).padStart(3, '0')}`));
    const mark = server.requests.mark();
    const r = record({ pageSize: 40 });
    r.cache.start();
    await r.cache.waitForSync();
    expect(r.cache.size).to.equal(300);
    expect(listRequests(mark)).to.equal(8);
    expect(r.events.filter((e) => e.type === 'added')).to.have.length(300);
  });

  it('restarts a paged list from the first page when its continue token expires', async () => {
    for (let i = 0; i < 30; i++) server.apply(configMap(`cm-${i}`));
    let pages = 0;
    // The real API in between; after the first page, history moves on and is compacted, so the
    // next page's continue token is too old.
    const compactingApi: KubeApi = Object.create(api) as KubeApi;
    compactingApi.list = async <T extends KubeObject>(resource: ResourceRef, options?: ListOptions): Promise<ListResult<T>> => {
      const page = await api.list<T>(resource, options);
      if (++pages === 1) {
        server.apply(configMap('cm-0', 'shop', { changed: 'yes' }));
        server.apply(configMap('cm-late'));
        server.faults.compactHistory();
      }
      return page;
    };
    const r = record({ api: compactingApi, pageSize: 10 });
    r.cache.start();
    await r.cache.waitForSync();
    expect(r.restarts).to.deep.equal(['gone']);
    expect(r.cache.size).to.equal(31);
    expect(r.dataOf('cm-0')).to.deep.equal({ changed: 'yes' });
  });

  it('a relist of 1,000 unchanged objects emits no events', async () => {
    for (let i = 0; i < 1000; i++) server.apply(configMap(`cm-${i}`));
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    expect(r.events).to.have.length(1000);
    await until(() => openWatches() === 1, 'the watch to open');
    const lists = server.requests.mark();
    server.faults.expireWatches({ resource: 'configmaps' });
    await until(() => r.restarts.includes('gone') && listRequests(lists) >= 1 && openWatches() === 1, 'the relist after 410');
    expect(r.events).to.have.length(1000);
    expect(r.cache.size).to.equal(1000);
  });

  it('keeps serving after a change handler throws', async () => {
    let calls = 0;
    const cache = new ListWatchCache<KubeObject>({
      api,
      resource: CONFIGMAPS,
      namespace: 'shop',
      onChange: () => {
        calls++;
        throw new Error('handler bug');
      },
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    });
    cache.start();
    try {
      await cache.waitForSync();
      server.apply(configMap('one'));
      server.apply(configMap('two'));
      await until(() => cache.size === 2 && calls === 2, 'both changes');
    } finally {
      await cache.stop();
    }
  });

  it('stop() ends the watch and rejects waitForSync of a cache that never synced', async () => {
    const r = record();
    r.cache.start();
    await r.cache.waitForSync();
    await until(() => openWatches() === 1, 'the watch to open');
    await r.cache.stop();
    await until(() => openWatches() === 0, 'the watch to close');

    const fault = server.faults.failNext(1000, { verb: 'list', resource: 'configmaps', status: 500 });
    const never = record();
    never.cache.start();
    const waiting = never.cache.waitForSync();
    await until(() => fault.hits >= 2, 'a retry');
    await never.cache.stop();
    let rejected = false;
    await waiting.catch(() => (rejected = true));
    expect(rejected).to.equal(true);
    expect(() => never.cache.start()).to.throw(/after stop/);

    const aborted = new AbortController();
    const another = record();
    another.cache.start();
    const aborting = another.cache.waitForSync(aborted.signal);
    aborted.abort();
    let abortRejected = false;
    await aborting.catch(() => (abortRejected = true));
    expect(abortRejected).to.equal(true);
  });
});
