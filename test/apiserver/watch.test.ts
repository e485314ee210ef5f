// The real client-node informer and Watch against the test API server: events, bookmarks, 410 and relist.
import { CoreV1Api, CustomObjectsApi, makeInformer, Watch, type KubernetesObject, type V1ConfigMap } from '@kubernetes/client-node';
import { expect } from 'chai';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { eventually, request } from './support.js';

interface SeenEvent {
  type: string;
  name?: string;
  rv?: string;
  code?: number;
}

describe('apiserver: watches with client-node', function () {
  let server: TestApiServer;
  let core: CoreV1Api;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles(), bookmarkIntervalMs: 20 });
    core = server.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'informed' } } });
  });
  after(async () => {
    await server?.stop();
  });

  it('an informer sees add, update and delete', async () => {
    const informer = makeInformer<V1ConfigMap>(server.kubeConfig(), '/api/v1/namespaces/informed/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'informed' }),
    );
    const seen: string[] = [];
    informer.on('add', (o) => seen.push(`add ${o.metadata!.name} ${JSON.stringify(o.data)}`));
    informer.on('update', (o) => seen.push(`update ${o.metadata!.name} ${JSON.stringify(o.data)}`));
    informer.on('delete', (o) => seen.push(`delete ${o.metadata!.name}`));
    await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'before' }, data: { a: '1' } } });
    await informer.start();
    try {
      await eventually(() => (seen.length >= 1 ? true : undefined), 'initial list');
      await eventually(() => (server.watches.openCount({ resource: 'configmaps' }) > 0 ? true : undefined), 'informer watch');
      await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'live' }, data: { a: '1' } } });
      await core.replaceNamespacedConfigMap({ namespace: 'informed', name: 'live', body: { metadata: { name: 'live' }, data: { a: '2' } } });
      await core.deleteNamespacedConfigMap({ namespace: 'informed', name: 'live' });
      await eventually(() => (seen.length >= 4 ? true : undefined), 'four informer callbacks');
      expect(seen).to.deep.equal(['add before {"a":"1"}', 'add live {"a":"1"}', 'update live {"a":"2"}', 'delete live']);
      expect(informer.list('informed').map((o) => o.metadata!.name)).to.deep.equal(['before']);
    } finally {
      await informer.stop();
    }
  });

  it('a Watch that allows bookmarks gets them, carrying the current resourceVersion', async () => {
    const events: SeenEvent[] = [];
    const list = await core.listNamespacedConfigMap({ namespace: 'informed' });
    const controller = await new Watch(server.kubeConfig()).watch(
      '/api/v1/namespaces/informed/configmaps',
      { allowWatchBookmarks: true, resourceVersion: list.metadata!.resourceVersion },
      (type, obj: KubernetesObject) => events.push({ type, name: obj.metadata?.name, rv: obj.metadata?.resourceVersion }),
      () => undefined,
    );
    try {
      const bookmark = await eventually(() => events.find((e) => e.type === 'BOOKMARK'), 'a BOOKMARK event');
      expect(Number(bookmark.rv)).to.be.at.least(Number(list.metadata!.resourceVersion));
      await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'after-bookmark' } } });
      const added = await eventually(() => events.find((e) => e.type === 'ADDED'), 'ADDED after a bookmark');
      expect(added.name).to.equal('after-bookmark');
      const later = await eventually(() => events.slice(events.indexOf(added)).find((e) => e.type === 'BOOKMARK'), 'a later BOOKMARK');
      expect(Number(later.rv)).to.be.at.least(Number(added.rv));
    } finally {
      controller.abort();
    }
  });

  it('a watch from a compacted resourceVersion gets an ERROR event with a 410 Status, then the stream ends', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: 'informed' });
    await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'makes-history' } } });
    server.faults.compactHistory();
    const events: { type: string; object: Record<string, unknown> }[] = [];
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    await new Watch(server.kubeConfig()).watch(
      '/api/v1/namespaces/informed/configmaps',
      { resourceVersion: list.metadata!.resourceVersion },
      (type, object: Record<string, unknown>) => events.push({ type, object }),
      () => ended(),
    );
    await done;
    expect(events).to.have.length(1);
    expect(events[0]!.type).to.equal('ERROR');
    expect(events[0]!.object).to.deep.include({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 });
    expect(events[0]!.object.message).to.match(/^too old resource version: \d+ \(\d+\)$/);
  });

  it('an informer whose watch position expired relists and catches up (missed add included)', async () => {
    const cnps = server.kubeConfig().makeApiClient(CustomObjectsApi);
    const informer = makeInformer<KubernetesObject>(server.kubeConfig(), '/apis/cilium.io/v2/namespaces/informed/ciliumnetworkpolicies', () =>
      cnps.listNamespacedCustomObject({ group: 'cilium.io', version: 'v2', namespace: 'informed', plural: 'ciliumnetworkpolicies' }),
    );
    const added: string[] = [];
    let connects = 0;
    informer.on('add', (o) => added.push(o.metadata!.name!));
    informer.on('connect', () => connects++);
    const cnp = (name: string) => ({
      group: 'cilium.io',
      version: 'v2',
      namespace: 'informed',
      plural: 'ciliumnetworkpolicies',
      body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name }, spec: { endpointSelector: {}, ingress: [{}] } },
    });
    await informer.start();
    try {
      await eventually(() => (server.watches.openCount({ resource: 'ciliumnetworkpolicies' }) > 0 ? true : undefined), 'informer watch');
      await cnps.createNamespacedCustomObject(cnp('seen-live'));
      await eventually(() => (added.includes('seen-live') ? true : undefined), 'live add');
      const listsBefore = server.requests.query({ verb: 'list', resource: 'ciliumnetworkpolicies' }).length;

      // The informer's watch goes silent, misses a create, and its position is compacted away.
      server.faults.stallWatches({ resource: 'ciliumnetworkpolicies' });
      await cnps.createNamespacedCustomObject(cnp('missed'));
      server.faults.compactHistory();
      server.faults.closeWatches({ resource: 'ciliumnetworkpolicies' });

      await eventually(() => (added.includes('missed') ? true : undefined), 'the missed object after relist');
      // The informer emits what the relist found before it opens its next watch: wait for that one.
      // First watch, the one answered with 410, the one after the relist.
      await eventually(() => (server.requests.query({ verb: 'watch', resource: 'ciliumnetworkpolicies' }).length >= 3 && connects >= 3 ? true : undefined), 'the watch after the relist');
      expect(server.requests.query({ verb: 'list', resource: 'ciliumnetworkpolicies' }).length).to.equal(listsBefore + 1);
      expect(added).to.deep.equal(['seen-live', 'missed']);
    } finally {
      await informer.stop();
    }
  });

  it('a label-selected watch turns label changes into ADDED and DELETED', async () => {
    const events: SeenEvent[] = [];
    const controller = await new Watch(server.kubeConfig()).watch(
      '/api/v1/namespaces/informed/configmaps',
      { labelSelector: 'tier in (web),!legacy' },
      (type, obj: KubernetesObject) => events.push({ type, name: obj.metadata?.name }),
      () => undefined,
    );
    try {
      await eventually(() => (server.watches.openCount({ resource: 'configmaps' }) > 0 ? true : undefined), 'watch open');
      await core.createNamespacedConfigMap({ namespace: 'informed', body: { metadata: { name: 'sel', labels: { tier: 'db' } } } });
      const patch = (labels: Record<string, string | null>) =>
        request(server, 'PATCH', '/api/v1/namespaces/informed/configmaps/sel', {
          body: { metadata: { labels } },
          contentType: 'application/merge-patch+json',
        });
      await patch({ tier: 'web' });
      await patch({ note: 'x' });
      await patch({ legacy: 'true' });
      await core.deleteNamespacedConfigMap({ namespace: 'informed', name: 'sel' });
      await patch({}); // 404, no event
      await eventually(() => (events.length >= 3 ? true : undefined), 'three events');
      expect(events).to.deep.equal([
        { type: 'ADDED', name: 'sel' },
        { type: 'MODIFIED', name: 'sel' },
        { type: 'DELETED', name: 'sel' },
      ]);
    } finally {
      controller.abort();
    }
  });

  it('timeoutSeconds ends the watch on the server side', async () => {
    let ended!: (err: unknown) => void;
    const done = new Promise<unknown>((resolve) => (ended = resolve));
    await new Watch(server.kubeConfig()).watch('/api/v1/namespaces', { timeoutSeconds: 1 }, () => undefined, (err) => ended(err));
    expect(await done).to.equal(null);
  });

  it('sendInitialEvents streams the state then a bookmark marking its end', async () => {
    const lines: { type: string; object: KubernetesObject }[] = [];
    const controller = await new Watch(server.kubeConfig()).watch(
      '/api/v1/namespaces',
      { sendInitialEvents: true, allowWatchBookmarks: true, resourceVersionMatch: 'NotOlderThan' },
      (type, object: KubernetesObject) => lines.push({ type, object }),
      () => undefined,
    );
    try {
      const end = await eventually(() => {
        const i = lines.findIndex((l) => l.type === 'BOOKMARK');
        return i >= 0 ? i : undefined;
      }, 'the initial-events-end bookmark');
      expect(lines.slice(0, end).map((l) => `${l.type} ${l.object.metadata!.name}`)).to.deep.equal([
        'ADDED default',
        'ADDED informed',
        'ADDED kube-node-lease',
        'ADDED kube-public',
        'ADDED kube-system',
      ]);
      expect(lines[end]!.object.metadata!.annotations).to.deep.equal({ 'k8s.io/initial-events-end': 'true' });
    } finally {
      controller.abort();
    }
  });
});
