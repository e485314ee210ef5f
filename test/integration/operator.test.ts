// The operator against the test API server over real HTTP: label changes, typos, protected
// namespaces, drift, foreign objects, catalog changes and restarts, asserted on cluster state.
import { expect } from 'chai';
import { HttpKubeApi } from '../../src/kube/http-api.js';
import { RESOURCES } from '../../src/kube/resources.js';
import type { TestApiServer } from '../support/apiserver/server.js';
import {
  D,
  eventsFor,
  eventually,
  expectConverged,
  namespace,
  ownedObjects,
  startOperator,
  startServerWithCatalog,
  type RunningOperator,
} from '../support/operator-harness.js';

const CNP = ['cilium.io/v2', 'ciliumnetworkpolicies'] as const;
const CCNP = ['cilium.io/v2', 'ciliumclusterwidenetworkpolicies'] as const;

describe('operator (integration)', function () {
  this.timeout(60_000);
  let server: TestApiServer;
  let running: RunningOperator | undefined;

  beforeEach(async () => {
    server = await startServerWithCatalog();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await server.stop();
  });

  const cnp = (ns: string, name: string) => server.get(...CNP, ns, name);

  it('creates the cluster-wide objects and the policies of labelled namespaces', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true' }));
    running = await startOperator(server);
    await expectConverged(server);
    expect(cnp('shop', 'profile-standard')).to.not.equal(undefined);
    expect(cnp('shop', 'access-postgres')).to.not.equal(undefined);
    expect(server.get(...CCNP, undefined, 'escape-hatch-allow-all')).to.not.equal(undefined);
    expect(server.get(...CCNP, undefined, 'baseline-dns')).to.not.equal(undefined);
  });

  it('follows a label being added, changed (make-before-break) and removed', async () => {
    server.apply(namespace('shop'));
    running = await startOperator(server);
    await expectConverged(server);
    server.apply(namespace('shop', { [`${D}/profile`]: 'internal' }));
    await eventually(() => expect(cnp('shop', 'profile-internal')).to.not.equal(undefined));

    // Watch the namespace's policies as a client would: the new profile must appear before the old goes.
    const api = new HttpKubeApi(server.kubeConfig());
    const seen: string[] = [];
    const stopWatch = new AbortController();
    const listed = await api.list(RESOURCES.ciliumNetworkPolicies, { namespace: 'shop' });
    const watching = api.watch(
      RESOURCES.ciliumNetworkPolicies,
      { namespace: 'shop', resourceVersion: listed.resourceVersion },
      { onEvent: (type, object) => seen.push(`${type} ${object.metadata?.name}`) },
      stopWatch.signal,
    );
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    await expectConverged(server);
    await eventually(() => expect(seen).to.include('DELETED profile-internal'));
    stopWatch.abort();
    await watching;
    expect(cnp('shop', 'profile-internal')).to.equal(undefined);
    expect(seen.indexOf('ADDED profile-standard')).to.be.greaterThan(-1);
    expect(seen.indexOf('ADDED profile-standard')).to.be.lessThan(seen.indexOf('DELETED profile-internal'));

    server.apply(namespace('shop', {}));
    await expectConverged(server);
    expect(server.list(...CNP, 'shop')).to.deep.equal([]);
  });

  /** The namespaces baseline-dns leaves out by name. */
  const excluded = () =>
    ((server.get(...CCNP, undefined, 'baseline-dns')?.spec as { endpointSelector: { matchExpressions: Array<{ key: string; operator: string; values?: string[] }> } })
      .endpointSelector.matchExpressions.find((e) => e.key === 'k8s:io.kubernetes.pod.namespace' && e.operator === 'NotIn')?.values ?? []);

  it('baselines leave out a namespace whose profile label is invalid and was never applied, until it is fixed; a kept profile stays selected', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    server.apply(namespace('blog', { [`${D}/profile`]: 'standrad' }));
    running = await startOperator(server);
    await expectConverged(server);
    // The protected namespaces, and blog: nothing of a profile was ever applied there.
    expect(excluded()).to.deep.equal(['blog', 'kube-node-lease', 'kube-public', 'kube-system', 'netpol-profiles']);
    for (const name of ['health-probes', 'prometheus-scrape', 'istio-ambient-hbone']) {
      expect(JSON.stringify(server.get(...CCNP, undefined, `baseline-${name}`)?.spec)).to.contain('"blog"');
    }

    // shop's label gets the same typo: its profile-standard is kept, so it stays selected.
    server.apply(namespace('shop', { [`${D}/profile`]: 'standrad' }));
    await eventually(() => expect(eventsFor(server, 'shop').map((e) => e.reason)).to.include('UnknownProfile'));
    await running.operator.waitForIdle();
    expect(cnp('shop', 'profile-standard')).to.not.equal(undefined);
    expect(excluded()).to.not.include('shop');

    // blog's typo is fixed: it gets its profile and the baselines again.
    const mark = server.requests.mark();
    server.apply(namespace('blog', { [`${D}/profile`]: 'standard' }));
    await eventually(() => expect(excluded()).to.not.include('blog'));
    await expectConverged(server);
    const writes = server.requests.writes({ since: mark }).map((r) => `${r.verb} ${r.resource} ${r.name ?? r.namespace}`);
    expect(writes).to.include('create ciliumnetworkpolicies blog'); // a create names its namespace, not the object
    expect(cnp('blog', 'profile-standard')).to.not.equal(undefined);
    expect(writes.filter((w) => w.startsWith('update ciliumclusterwidenetworkpolicies')).sort()).to.deep.equal(
      ['baseline-dns', 'baseline-health-probes', 'baseline-istio-ambient-hbone', 'baseline-prometheus-scrape'].map((b) => `update ciliumclusterwidenetworkpolicies ${b}`),
    );

    // Ordinary label changes (a profile switch, a grant, the platform label) change no baseline; those
    // between valid profiles do not even wake the cluster reconciler (it would cost a pass over every
    // namespace, for nothing).
    const clusterReconciles = async () =>
      Number(/controller="cluster",result="success"} (\d+)/.exec(await running!.metrics.registry.getSingleMetricAsString('netpol_profiles_reconcile_total'))?.[1]);
    await running.operator.waitForIdle();
    const quiet = server.requests.mark();
    const reconcilesBefore = await clusterReconciles();
    server.apply(namespace('blog', { [`${D}/profile`]: 'internal', [`access.${D}/postgres`]: 'true' }));
    server.apply(namespace('fresh', { [`${D}/profile`]: 'isolated' }));
    await expectConverged(server);
    await running.operator.waitForIdle();
    expect(await clusterReconciles()).to.equal(reconcilesBefore);
    server.apply(namespace('shop', { [`${D}/profile`]: 'standrad', [`${D}/platform`]: 'true' }));
    await expectConverged(server);
    await running.operator.waitForIdle();
    expect(server.requests.writes({ since: quiet }).filter((r) => r.resource === 'ciliumclusterwidenetworkpolicies')).to.deep.equal([]);
  });

  it('a profile policy that reaches the cache after its label turned into a typo puts the namespace back in the baselines', async () => {
    server.apply(namespace('shop'));
    running = await startOperator(server);
    await expectConverged(server);
    // The operator's watch of its policies goes silent: it creates profile-standard but does not see it.
    const stall = server.faults.stallWatches({ resource: 'ciliumnetworkpolicies' });
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    await eventually(() => expect(cnp('shop', 'profile-standard')).to.not.equal(undefined));
    server.apply(namespace('shop', { [`${D}/profile`]: 'standrad' }));
    await eventually(() => expect(excluded()).to.include('shop')); // as far as its cache knows, nothing was applied
    // The watch comes back with the create (our own write): the namespace has a kept profile after all.
    stall.remove();
    server.faults.closeWatches({ resource: 'ciliumnetworkpolicies' });
    await eventually(() => expect(excluded()).to.not.include('shop'), 10_000);
    expect(cnp('shop', 'profile-standard')).to.not.equal(undefined);
  });

  it('keeps the applied profile on a typo, with a Warning event and a metric', async () => {
    server.apply(namespace('blog', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await eventually(() => expect(cnp('blog', 'profile-standard')).to.not.equal(undefined));
    server.apply(namespace('blog', { [`${D}/profile`]: 'standrad' }));
    await eventually(() => expect(eventsFor(server, 'blog').map((e) => e.reason)).to.include('UnknownProfile'));
    await running.operator.waitForIdle();
    expect(cnp('blog', 'profile-standard')).to.not.equal(undefined);
    const metrics = await running.metrics.registry.metrics();
    expect(metrics).to.contain('netpol_profiles_label_errors{namespace="blog",label="network-policy.homelab/profile",reason="UnknownProfile"} 1');
  });

  it('bounds the series and Events of a namespace with a thousand bogus labels', async () => {
    running = await startOperator(server);
    const labels: Record<string, string> = { [`${D}/profile`]: 'standard' };
    for (let i = 0; i < 1000; i++) labels[`access.${D}/bogus-${String(i).padStart(4, '0')}`] = 'true';
    server.apply(namespace('noisy', labels));
    await eventually(() => expect(cnp('noisy', 'profile-standard')).to.not.equal(undefined));
    await running.operator.waitForIdle();
    const warnings = eventsFor(server, 'noisy').filter((event) => event.type === 'Warning');
    expect(warnings.map((event) => event.reason).sort()).to.deep.equal(['TooManyLabelProblems', ...Array(5).fill('UnknownSharedService')]);
    const series = (await running.metrics.registry.getSingleMetricAsString('netpol_profiles_label_errors')).split('\n').filter((line) => line.includes('namespace="noisy"'));
    expect(series).to.have.length(6);
    expect(series).to.include('netpol_profiles_label_errors{namespace="noisy",label="(more)",reason="(more)"} 995');
  });

  it('generates nothing for a protected namespace or an unknown service, with events', async () => {
    server.apply(namespace('tools', { [`${D}/platform`]: 'true', [`${D}/profile`]: 'standard' }));
    server.apply(namespace('app', { [`access.${D}/mysql`]: 'true' }));
    running = await startOperator(server);
    await eventually(() => {
      expect(eventsFor(server, 'tools').map((e) => e.reason)).to.include('ProtectedNamespace');
      expect(eventsFor(server, 'app').map((e) => e.reason)).to.include('UnknownSharedService');
    });
    expect(server.list(...CNP, 'tools')).to.deep.equal([]);
    expect(server.list(...CNP, 'app')).to.deep.equal([]);
  });

  it('removes rules someone added through specs[] to a generated CNP or to the escape-hatch CCNP', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    // Cilium enforces specs[] next to spec: allow-all rules here would open the namespace or the cluster.
    const widen = { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }], egress: [{ toEntities: ['all'] }] };
    server.apply({ ...cnp('shop', 'profile-standard')!, specs: [widen] });
    server.apply({ ...server.get(...CCNP, undefined, 'escape-hatch-allow-all')!, specs: [widen] });
    await eventually(() => {
      expect(cnp('shop', 'profile-standard')).to.not.have.property('specs');
      expect(server.get(...CCNP, undefined, 'escape-hatch-allow-all')).to.not.have.property('specs');
    });
    await expectConverged(server);
  });

  it('restores an edited, deleted or relabelled generated object, and counts the drift', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    const edited = cnp('shop', 'profile-standard')!;
    server.apply({ ...edited, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] } });
    await expectConverged(server);
    server.delete(...CNP, 'shop', 'profile-standard');
    await expectConverged(server);
    const relabelled = cnp('shop', 'profile-standard')!;
    server.apply({ ...relabelled, metadata: { ...relabelled.metadata, labels: { ...relabelled.metadata?.labels, [`${D}/generated-from`]: 'profile.other' } } });
    await eventually(() => expect(cnp('shop', 'profile-standard')!.metadata?.labels?.[`${D}/generated-from`]).to.equal('profile.standard'));
    expect(await running.metrics.registry.getSingleMetricAsString('netpol_profiles_drift_corrections_total')).to.match(
      /kind="CiliumNetworkPolicy"} 3/,
    );
  });

  it('never touches a same-named object it does not own (NameConflict)', async () => {
    server.apply(namespace('shop'));
    const foreign = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-standard', namespace: 'shop', labels: { team: 'shop' } }, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] } };
    server.apply(foreign);
    running = await startOperator(server);
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    await eventually(() => expect(eventsFor(server, 'shop').map((e) => e.reason)).to.include('NameConflict'));
    const kept = cnp('shop', 'profile-standard')!;
    expect(kept.metadata?.labels).to.deep.equal({ team: 'shop' });
    expect(kept.spec).to.deep.equal(foreign.spec);
    const conflicts = () => running!.metrics.registry.getSingleMetricAsString('netpol_profiles_name_conflicts');
    expect(await conflicts()).to.contain('netpol_profiles_name_conflicts{kind="CiliumNetworkPolicy",namespace="shop",name="profile-standard"} 1');
    // The owner deletes the squatter: the next recheck creates ours and the series goes.
    server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard');
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard', touched: 'yes' }));
    await expectConverged(server);
    await eventually(async () => expect(await conflicts()).not.to.contain('name="profile-standard"'));
  });

  it('exports an invalid catalog object as netpol_profiles_catalog_invalid with Ready=False and a Warning event in namespace default, until it is fixed', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'standard')!;
    const spec = profile.spec as { egress?: unknown[] };
    // A misspelt field: the CRD keeps it (preserve-unknown-fields), our validation refuses it.
    server.apply({ ...profile, spec: { ...spec, egress: [...(spec.egress ?? []), { toEntitie: ['world'] }] } });
    const invalid = () => running!.metrics.registry.getSingleMetricAsString('netpol_profiles_catalog_invalid');
    await eventually(async () => expect(await invalid()).to.contain('netpol_profiles_catalog_invalid{kind="NetworkProfile",name="standard"} 1'));
    await eventually(() => {
      const ready = ((server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'standard')!.status as { conditions?: Array<Record<string, unknown>> })?.conditions ?? []).find((c) => c.type === 'Ready');
      expect(ready?.status).to.equal('False');
      expect(ready?.reason).to.equal('Invalid');
    });
    await eventually(() => expect(eventsFor(server, 'default').filter((e) => e.reason === 'Invalid').map((e) => e.type)).to.deep.equal(['Warning']));
    expect(cnp('shop', 'profile-standard'), 'what was applied is kept').to.not.equal(undefined);
    server.apply(profile);
    await eventually(async () => expect(await invalid()).not.to.contain('name="standard"'));
  });

  it('keeps the old profile while the new one cannot be created under a squatted name (make-before-break)', async () => {
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    const squatter = { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'profile-isolated', namespace: 'shop' }, spec: { endpointSelector: {}, ingress: [{}] } };
    server.apply(squatter);
    server.apply(namespace('shop', { [`${D}/profile`]: 'isolated' }));
    await eventually(() => expect(eventsFor(server, 'shop').map((e) => e.reason)).to.include('NameConflict'));
    await running.operator.waitForIdle();
    expect(cnp('shop', 'profile-standard'), 'the old profile stays until the new one exists').to.not.equal(undefined);
    expect(cnp('shop', 'profile-isolated')?.metadata?.labels).to.equal(undefined);
  });

  it('prunes whatever carries our managed-by label but is not an object it would generate, kept policies aside', async () => {
    const owned = (name: string, namespace: string | undefined, generatedFrom?: string) => ({
      apiVersion: 'cilium.io/v2',
      kind: namespace ? 'CiliumNetworkPolicy' : 'CiliumClusterwideNetworkPolicy',
      metadata: {
        name,
        ...(namespace ? { namespace } : {}),
        labels: { 'app.kubernetes.io/managed-by': 'netpol-profiles', ...(generatedFrom ? { [`${D}/generated-from`]: generatedFrom } : {}) },
      },
      spec: { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }], egress: [{ toEntities: ['all'] }] },
    });
    // `shop` had profile standard; its label now has a typo, so profile-standard is kept.
    server.apply(namespace('shop', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    await running.stop();
    server.apply(namespace('shop', { [`${D}/profile`]: 'standrad' }));
    for (const object of [
      owned('no-source', 'shop'),
      owned('unknown-type', 'shop', 'bogus.x'),
      owned('allow-all', 'shop', 'profile.standard'),
      owned('access-web', 'shop', 'profile.web'),
      owned('baseline-sneaky', 'shop', 'baseline.sneaky'),
      owned('cluster-no-source', undefined),
      owned('not-a-baseline-name', undefined, 'baseline.dns'),
    ]) {
      server.apply(object);
    }
    running = await startOperator(server);
    await eventually(() => {
      expect(server.list(...CNP, 'shop').map((object) => object.metadata?.name)).to.deep.equal(['profile-standard']);
      expect(server.get(...CCNP, undefined, 'cluster-no-source')).to.equal(undefined);
      expect(server.get(...CCNP, undefined, 'not-a-baseline-name')).to.equal(undefined);
    });
  });

  it('updates every namespace when a profile changes, and adds a new baseline', async () => {
    for (const name of ['a', 'b', 'c']) server.apply(namespace(name, { [`${D}/profile`]: 'isolated' }));
    running = await startOperator(server);
    await expectConverged(server);
    const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'isolated')!;
    server.apply({ ...profile, spec: { ...(profile.spec as object), egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }] } });
    server.apply({ apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'ntp' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '123', protocol: 'UDP' }] }] }] } });
    await expectConverged(server);
    expect((cnp('c', 'profile-isolated')!.spec as { egress: unknown[] }).egress).to.have.length(1);
    expect(server.get(...CCNP, undefined, 'baseline-ntp')).to.not.equal(undefined);
  });

  it('holds the deletion of an in-use profile until no namespace uses it', async () => {
    server.apply(namespace('a', { [`${D}/profile`]: 'internal' }));
    running = await startOperator(server);
    await eventually(() => {
      const profile = server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'internal')!;
      expect(profile.metadata?.finalizers).to.include(`${D}/in-use`);
      expect((profile.status as { namespaceCount?: number })?.namespaceCount).to.equal(1);
    });
    server.delete(`${D}/v1alpha1`, 'networkprofiles', undefined, 'internal');
    await running.operator.waitForIdle();
    expect(server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'internal')?.metadata?.deletionTimestamp).to.be.a('string');
    expect(cnp('a', 'profile-internal')).to.not.equal(undefined);
    server.apply(namespace('a', {}));
    await eventually(() => expect(server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'internal')).to.equal(undefined));
    await expectConverged(server);
  });

  it('forgets what it remembered about namespaces that are gone', async () => {
    server.apply(namespace('stays', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    await running.operator.waitForIdle();
    // The spec interner is bounded by bytes on its own; everything else is per namespace.
    const remembered = () => {
      const { internedBytes: _bytes, internedSpecs: _specs, ...perNamespace } = running!.operator.memory();
      return perNamespace;
    };
    const before = remembered();
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 20; i++) server.apply(namespace(`short-lived-${i}`, { [`${D}/profile`]: 'isolated', [`access.${D}/postgres`]: 'true' }));
      await expectConverged(server);
      for (let i = 0; i < 20; i++) server.delete('v1', 'namespaces', undefined, `short-lived-${i}`);
      await expectConverged(server);
      await running.operator.waitForIdle();
    }
    expect(remembered()).to.deep.equal(before);
  });

  it('resyncs: reconciles every key again periodically, writing nothing when all is in sync', async () => {
    for (let i = 0; i < 5; i++) server.apply(namespace(`app-${i}`, { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server, { resyncPeriodMs: 300 });
    await expectConverged(server);
    await running.operator.waitForIdle();
    const reconciles = async () => Number(/controller="namespace",result="success"} (\d+)/.exec(await running!.metrics.registry.getSingleMetricAsString('netpol_profiles_reconcile_total'))?.[1]);
    const mark = server.requests.mark();
    const before = await reconciles();
    await eventually(async () => expect(await reconciles()).to.be.at.least(before + 2 * 5), 10_000, 'two resyncs of every namespace');
    expect(server.requests.writes({ since: mark, group: 'cilium.io' })).to.deep.equal([]);
  });

  it('restarted against an in-sync cluster, makes zero writes', async () => {
    for (let i = 0; i < 20; i++) server.apply(namespace(`ns-${i}`, { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true', [`${D}/enforcement`]: i === 3 ? 'off' : 'enabled' }));
    running = await startOperator(server);
    await expectConverged(server);
    await running.operator.waitForIdle();
    await running.stop();
    const mark = server.requests.mark();
    running = await startOperator(server);
    await running.operator.waitForIdle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await running.operator.waitForIdle();
    expect(server.requests.writes({ since: mark }).map((r) => `${r.verb} ${r.resource} ${r.name}`)).to.deep.equal([]);
    expect(ownedObjects(server).size).to.equal(20 * 2 + 5);
  });

  it('stopped mid-sync and started again, converges with no orphans and no duplicates', async () => {
    for (let i = 0; i < 300; i++) server.apply(namespace(`ns-${i}`, { [`${D}/profile`]: 'internal', [`access.${D}/dragonfly`]: 'true' }));
    running = await startOperator(server);
    await eventually(() => expect(ownedObjects(server).size).to.be.greaterThan(50), 20_000);
    await running.stop();
    const partial = ownedObjects(server).size;
    expect(partial).to.be.lessThan(300 * 2 + 4);
    // While it was down: some labels changed, some removed.
    for (let i = 0; i < 20; i++) server.apply(namespace(`ns-${i}`, i % 2 ? {} : { [`${D}/profile`]: 'isolated' }));
    const restart = server.requests.mark();
    running = await startOperator(server);
    await expectConverged(server, 30_000);
    const refused = server.requests.writes({ since: restart, verb: 'create', group: 'cilium.io' }).filter((r) => r.code === 409);
    expect(refused.map((r) => `${r.namespace}/${r.resource}`), 'creates of objects that already existed').to.deep.equal([]);
  });

  it('leaves a Terminating namespace alone, without error loops', async () => {
    await server.stop();
    server = await startServerWithCatalog({ namespaceDeletionDelayMs: 3_000 });
    server.apply(namespace('leaving', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    server.delete('v1', 'namespaces', undefined, 'leaving');
    server.apply({ ...server.get('v1', 'namespaces', undefined, 'leaving')!, metadata: { ...server.get('v1', 'namespaces', undefined, 'leaving')!.metadata, labels: { [`${D}/profile`]: 'internal' } } });
    await running.operator.waitForIdle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(server.requests.writes({ namespace: 'leaving', group: 'cilium.io' }).filter((r) => r.verb === 'create' && r.code >= 400)).to.deep.equal([]);
    expect(await running.metrics.registry.getSingleMetricAsString('netpol_profiles_reconcile_total')).to.match(/controller="namespace",result="error"} 0/);
  });

  it('uses a state ConfigMap that lost its label (restored from a backup): keeps its record and writes into it', async () => {
    server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'netpol-profiles-state', namespace: 'netpol-profiles' }, data: { 'disabled-since.old': '2026-01-01T00:00:00Z' } });
    server.apply(namespace('old', { [`${D}/enforcement`]: 'disabled' }));
    server.apply(namespace('new', {}));
    running = await startOperator(server);
    await expectConverged(server);
    server.apply(namespace('new', { [`${D}/enforcement`]: 'disabled' }));
    await eventually(() => {
      const data = (server.get('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-state') as { data?: Record<string, string> }).data ?? {};
      expect(data['disabled-since.old']).to.equal('2026-01-01T00:00:00Z');
      expect(data['disabled-since.new']).to.be.a('string');
    });
    const metrics = await running.metrics.registry.metrics();
    expect(metrics).to.contain(`netpol_profiles_enforcement_disabled_since_timestamp_seconds{namespace="old"} ${Date.parse('2026-01-01T00:00:00Z') / 1000}`);
  });

  it('records when enforcement was disabled in the state ConfigMap, keeps it across restarts, clears it on restore', async () => {
    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard' }));
    running = await startOperator(server);
    await expectConverged(server);
    const before = Math.floor(Date.now() / 1000);
    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
    const state = () => server.get('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-state') as { data?: Record<string, string> } | undefined;
    await eventually(() => expect(state()?.data?.['disabled-since.legacy']).to.be.a('string'));
    const since = Date.parse(state()!.data!['disabled-since.legacy']!) / 1000;
    expect(since).to.be.within(before - 1, Math.floor(Date.now() / 1000));
    await eventually(async () => {
      const metrics = await running!.metrics.registry.metrics();
      expect(metrics).to.contain('netpol_profiles_enforcement_disabled{namespace="legacy"} 1');
      expect(metrics).to.contain(`netpol_profiles_enforcement_disabled_since_timestamp_seconds{namespace="legacy"} ${since}`);
    });
    await eventually(() => expect(eventsFor(server, 'legacy').filter((e) => e.reason === 'EnforcementDisabled').map((e) => e.type)).to.deep.equal(['Warning']));

    await running.stop();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    running = await startOperator(server);
    await running.operator.waitForIdle();
    expect(await running.metrics.registry.metrics()).to.contain(`netpol_profiles_enforcement_disabled_since_timestamp_seconds{namespace="legacy"} ${since}`);

    server.apply(namespace('legacy', { [`${D}/profile`]: 'standard' }));
    await eventually(() => expect(state()?.data?.['disabled-since.legacy']).to.equal(undefined));
    await eventually(async () => expect(await running!.metrics.registry.metrics()).not.to.contain('namespace="legacy"'));
    await eventually(() => expect(eventsFor(server, 'legacy').map((e) => e.reason)).to.include('EnforcementRestored'));
  });

  it('does not let the escape-hatch record be bent: future, garbled, deleted or made-up entries', async () => {
    const state = () => server.get('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-state') as { data?: Record<string, string> } | undefined;
    const writeState = (data: Record<string, string>) =>
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'netpol-profiles-state', namespace: 'netpol-profiles' }, data });
    const sinceMetric = async (ns: string) =>
      Number(new RegExp(`since_timestamp_seconds\\{namespace="${ns}"\\} (\\d+)`).exec(await running!.metrics.registry.metrics())?.[1]);
    const hourAgo = new Date(Date.now() - 3600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    server.apply(namespace('future', { [`${D}/enforcement`]: 'disabled' }));
    server.apply(namespace('garbled', { [`${D}/enforcement`]: 'disabled' }));
    server.apply(namespace('kept', { [`${D}/enforcement`]: 'disabled' }));
    server.apply(namespace('never-disabled'));
    writeState({
      'disabled-since.future': '2999-01-01T00:00:00Z',
      'disabled-since.garbled': '1',
      'disabled-since.kept': hourAgo,
      'disabled-since.never-disabled': hourAgo,
    });
    running = await startOperator(server);
    const startedAt = Math.floor(Date.now() / 1000);
    await eventually(() => expect(state()?.data?.['disabled-since.never-disabled']).to.equal(undefined));
    await running.operator.waitForIdle();
    // A time in the future would keep the 24-hour alert from ever firing; "1" is not 2001.
    expect(await sinceMetric('future')).to.be.within(startedAt - 5, Math.floor(Date.now() / 1000));
    expect(await sinceMetric('garbled')).to.be.within(startedAt - 5, Math.floor(Date.now() / 1000));
    expect(Date.parse(state()!.data!['disabled-since.future']!) / 1000).to.be.at.most(Math.floor(Date.now() / 1000));
    expect(eventsFor(server, 'future').map((e) => e.reason)).to.include('InvalidEscapeHatchRecord');
    expect(eventsFor(server, 'garbled').map((e) => e.reason)).to.include('InvalidEscapeHatchRecord');
    expect(await running.metrics.registry.getSingleMetricAsString('netpol_profiles_escape_hatch_record_refused_total')).to.match(/reason="InFuture"} 1/).and.match(/reason="Unparsable"} 1/);
    // A key for a namespace that was never disabled is cleared without a false EnforcementRestored.
    expect(eventsFor(server, 'never-disabled').map((e) => e.reason)).not.to.include('EnforcementRestored');

    // Deleting the record neither restamps the namespaces nor announces them again.
    const kept = await sinceMetric('kept');
    expect(kept).to.equal(Date.parse(hourAgo) / 1000);
    const announced = eventsFor(server, 'kept').filter((e) => e.reason === 'EnforcementDisabled').length;
    server.delete('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-state');
    await eventually(() => expect(state()?.data?.['disabled-since.kept']).to.equal(hourAgo));
    await running.operator.waitForIdle();
    expect(await sinceMetric('kept')).to.equal(kept);
    expect(eventsFor(server, 'kept').filter((e) => e.reason === 'EnforcementDisabled').length).to.equal(announced);
  });
});
