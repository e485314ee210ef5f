// The pure renderer against the default catalog: the decision table of the reference design,
// each generated object's shape, ownership labels, determinism and the "keep on typo" rule.
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import type { PolicyObject } from '../../src/kube/types.js';
import { renderAll, renderNamespace, renderSharedService, type NamespaceInput } from '../../src/render/render.js';
import { formatObjects } from '../../src/render/output.js';
import { buildCatalog, readDocuments } from '../../src/catalog/load.js';
import type { KubeObject } from '../../src/kube/types.js';
import { DEFAULT_CATALOG_DIR, defaultCatalog } from '../support/project.js';

const D = 'network-policy.homelab';
const catalog = defaultCatalog();
const config = makeRenderConfig();
const PROFILES = ['isolated', 'internal', 'internal-egress', 'standard'];
const SERVICES = ['postgres', 'dragonfly', 'garage-s3', 'kube-api'];

const names = (objects: readonly PolicyObject[]) => objects.map((o) => `${o.kind === 'CiliumNetworkPolicy' ? 'cnp' : 'ccnp'}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
const find = (objects: readonly PolicyObject[], name: string, namespace?: string) =>
  objects.find((o) => o.metadata.name === name && o.metadata.namespace === namespace);

describe('renderer', () => {
  describe('decision table (profile × access × escape hatch × protected × invalid values)', () => {
    type ProfileCase = { label?: string; expect: 'none' | 'kept' | string };
    const profileCases: ProfileCase[] = [
      { expect: 'none' },
      ...PROFILES.map((p) => ({ label: p, expect: p })),
      { label: 'standrad', expect: 'kept' },
      { label: 'Not A Name', expect: 'kept' },
    ];
    type AccessCase = { labels: Record<string, string>; granted: string[] };
    const accessCases: AccessCase[] = [
      { labels: {}, granted: [] },
      ...SERVICES.map((s) => ({ labels: { [`access.${D}/${s}`]: 'true' }, granted: [s] })),
      { labels: { [`access.${D}/postgres`]: 'true', [`access.${D}/dragonfly`]: 'true' }, granted: ['dragonfly', 'postgres'] },
      { labels: { [`access.${D}/postgres`]: 'false' }, granted: [] },
      { labels: { [`access.${D}/postgres`]: 'yes' }, granted: [] },
      { labels: { [`access.${D}/mysql`]: 'true' }, granted: [] },
    ];
    const hatchCases = [
      { value: undefined, disabled: false },
      { value: 'disabled', disabled: true },
      { value: 'enabled', disabled: false },
      { value: 'off', disabled: false },
    ];
    const protectedCases: Array<{ name: string; labels: Record<string, string>; protected: boolean }> = [
      { name: 'app', labels: {}, protected: false },
      { name: 'kube-system', labels: {}, protected: true },
      { name: 'tools', labels: { [`${D}/platform`]: 'true' }, protected: true },
    ];

    let cases = 0;
    it('renders exactly the objects each combination asks for', () => {
      for (const p of profileCases) {
        for (const a of accessCases) {
          for (const h of hatchCases) {
            for (const ns of protectedCases) {
              const labels: Record<string, string> = { ...ns.labels, ...a.labels };
              if (p.label !== undefined) labels[`${D}/profile`] = p.label;
              if (h.value !== undefined) labels[`${D}/enforcement`] = h.value;
              const rendered = renderNamespace({ name: ns.name, labels }, catalog, config);
              const context = JSON.stringify({ ns: ns.name, labels });

              const expected: string[] = [];
              if (!ns.protected) {
                if (p.expect !== 'none' && p.expect !== 'kept') expected.push(`cnp/${ns.name}/profile-${p.expect}`);
                for (const s of a.granted) expected.push(`cnp/${ns.name}/access-${s}`);
              }
              expect(names(rendered.objects).sort(), context).to.deep.equal(expected.sort());
              expect(rendered.retain, context).to.deep.equal(
                !ns.protected && p.expect === 'kept' ? [{ namespace: ns.name, sourceType: 'profile' }] : [],
              );
              expect(rendered.intent.enforcementDisabled, context).to.equal(h.disabled);

              const reasons = rendered.intent.problems.map((x) => x.reason).sort();
              const expectedReasons: string[] = [];
              if (ns.protected) {
                const asksForPolicy = p.label !== undefined || Object.keys(a.labels).length > 0;
                if (asksForPolicy) expectedReasons.push('ProtectedNamespace');
              } else {
                if (p.label === 'standrad') expectedReasons.push('UnknownProfile');
                if (p.label === 'Not A Name') expectedReasons.push('InvalidProfile');
                if (a.labels[`access.${D}/postgres`] === 'yes') expectedReasons.push('InvalidAccessLabel');
                if (a.labels[`access.${D}/mysql`]) expectedReasons.push('UnknownSharedService');
              }
              if (h.value === 'off') expectedReasons.push('InvalidEnforcementLabel');
              expect(reasons, context).to.deep.equal(expectedReasons.sort());
              cases++;
            }
          }
        }
      }
      expect(cases).to.equal(profileCases.length * accessCases.length * hatchCases.length * protectedCases.length);
    });
  });

  describe('generated objects', () => {
    const all = renderAll(
      [
        { name: 'shop', labels: { [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true', [`access.${D}/kube-api`]: 'true' } },
        { name: 'batch', labels: { [`${D}/profile`]: 'isolated' } },
      ],
      catalog,
      config,
    ).objects;

    it('stamps every object with the managed-by and generated-from labels', () => {
      const fromLabels = all.map((o) => [o.metadata.name, o.metadata.labels['app.kubernetes.io/managed-by'], o.metadata.labels[`${D}/generated-from`]]);
      expect(fromLabels).to.deep.include.members([
        ['profile-standard', 'netpol-profiles', 'profile.standard'],
        ['access-postgres', 'netpol-profiles', 'access.postgres'],
        ['baseline-dns', 'netpol-profiles', 'baseline.dns'],
        ['escape-hatch-allow-all', 'netpol-profiles', 'escape-hatch.allow-all'],
      ]);
      for (const object of all) expect(Object.keys(object.metadata.labels)).to.have.length(2);
    });

    it('profile-<P> selects the whole namespace and copies the profile rules', () => {
      const policy = find(all, 'profile-standard', 'shop')!;
      expect(policy.kind).to.equal('CiliumNetworkPolicy');
      expect(policy.spec.endpointSelector).to.deep.equal({});
      expect(policy.spec.egress).to.deep.equal([{ toEntities: ['world'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }]);
      expect(policy.spec.ingress).to.have.length(1);
    });

    it('a direction the profile leaves empty renders as [{}] (default-deny both ways)', () => {
      const policy = find(all, 'profile-isolated', 'batch')!;
      expect(policy.spec.ingress).to.deep.equal([{}]);
      expect(policy.spec.egress).to.deep.equal([{}]);
    });

    it('access-<S> allows egress to the service pods in their namespace on their ports', () => {
      const policy = find(all, 'access-postgres', 'shop')!;
      expect(policy.spec.endpointSelector).to.deep.equal({});
      expect(policy.spec.egress).to.deep.equal([
        {
          toEndpoints: [{ matchLabels: { app: 'postgres', 'k8s:io.kubernetes.pod.namespace': 'database' } }],
          toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
        },
      ]);
      expect(policy.spec.ingress).to.equal(undefined);
      // Only adds: never turns on default-deny (an access label on an unprofiled namespace cuts nothing).
      expect(policy.spec.enableDefaultDeny).to.deep.equal({ egress: false, ingress: false });
    });

    it('access-<S> for an entity service allows egress to the entities', () => {
      expect(find(all, 'access-kube-api', 'shop')!.spec.egress).to.deep.equal([
        { toEntities: ['kube-apiserver'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }, { port: '6443', protocol: 'TCP' }] }] },
      ]);
    });

    it('the escape hatch selects namespaces labelled enforcement=disabled and allows everything', () => {
      const hatch = find(all, 'escape-hatch-allow-all')!;
      expect(hatch.kind).to.equal('CiliumClusterwideNetworkPolicy');
      expect(hatch.spec.endpointSelector).to.deep.equal({ matchLabels: { [`io.cilium.k8s.namespace.labels.${D}/enforcement`]: 'disabled' } });
      expect(hatch.spec.ingress).to.deep.equal([{ fromEntities: ['all'] }]);
      expect(hatch.spec.egress).to.deep.equal([{ toEntities: ['all'] }]);
    });

    it('exists even with no namespaces at all, as do the baselines', () => {
      expect(names(renderAll([], catalog, config).objects)).to.deep.equal([
        'ccnp//baseline-dns',
        'ccnp//baseline-health-probes',
        'ccnp//baseline-istio-ambient-hbone',
        'ccnp//baseline-prometheus-scrape',
        'ccnp//escape-hatch-allow-all',
      ]);
    });

    it('the escape hatch follows a custom label domain', () => {
      const custom = makeRenderConfig({ labelDomain: 'np.example.org' });
      const hatch = find(renderAll([], catalog, custom).objects, 'escape-hatch-allow-all')!;
      expect(hatch.spec.endpointSelector).to.deep.equal({ matchLabels: { 'io.cilium.k8s.namespace.labels.np.example.org/enforcement': 'disabled' } });
      expect(hatch.metadata.labels).to.have.property('np.example.org/generated-from');
    });
  });

  describe('baseline exclusions', () => {
    type Expression = { key: string; operator: string; values?: string[] };
    const expressions = (objects: readonly PolicyObject[], name: string): Expression[] =>
      (find(objects, name)!.spec.endpointSelector as { matchExpressions: Expression[] }).matchExpressions;
    const namespaces: NamespaceInput[] = [
      { name: 'blog', labels: { [`${D}/profile`]: 'standrad' } },
      { name: 'weird', labels: { [`${D}/profile`]: 'Not_Valid' } },
      { name: 'shop', labels: { [`${D}/profile`]: 'standard' } },
    ];

    it('every baseline leaves out the protected namespaces and D/platform=true ones, after its own selector', () => {
      const custom = makeRenderConfig({ labelDomain: 'np.example.org', protectedNamespaces: ['infra'], operatorNamespace: 'ops' });
      const objects = renderAll([], catalog, custom).objects;
      expect(expressions(objects, 'baseline-dns')).to.deep.equal([
        { key: `io.cilium.k8s.namespace.labels.${D}/profile`, operator: 'Exists' },
        { key: 'k8s:io.kubernetes.pod.namespace', operator: 'NotIn', values: ['infra', 'ops'] },
        { key: 'k8s:io.cilium.k8s.namespace.labels.np.example.org/platform', operator: 'NotIn', values: ['true'] },
      ]);
    });

    it('a baseline testing the profile label also leaves out namespaces whose invalid profile was never applied', () => {
      const objects = renderAll(namespaces, catalog, config).objects;
      for (const baseline of ['baseline-dns', 'baseline-health-probes', 'baseline-prometheus-scrape', 'baseline-istio-ambient-hbone']) {
        expect(expressions(objects, baseline).find((e) => e.operator === 'NotIn' && e.key === 'k8s:io.kubernetes.pod.namespace')!.values).to.deep.equal([
          'blog', 'kube-node-lease', 'kube-public', 'kube-system', 'netpol-profiles', 'weird',
        ]);
      }
    });

    it('a namespace that holds a profile policy of ours (kept after the typo) stays selected', () => {
      const objects = renderAll(namespaces, catalog, config, { hasProfilePolicy: (namespace) => namespace === 'blog' }).objects;
      expect(expressions(objects, 'baseline-dns').find((e) => e.operator === 'NotIn' && e.key === 'k8s:io.kubernetes.pod.namespace')!.values).to.deep.equal([
        'kube-node-lease', 'kube-public', 'kube-system', 'netpol-profiles', 'weird',
      ]);
    });

    it('a baseline that does not test the profile label (strict, every pod) keeps mistyped namespaces, like unlabelled ones; a host policy is left as written', () => {
      const { catalog: custom } = buildCatalog([
        { source: 't', object: { apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'all-pods' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['kube-apiserver'] }] } } },
        { source: 't', object: { apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'nodes' }, spec: { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }] } } },
      ]);
      const objects = renderAll(namespaces, custom, config).objects;
      expect(expressions(objects, 'baseline-all-pods')).to.deep.equal([
        { key: 'k8s:io.kubernetes.pod.namespace', operator: 'NotIn', values: ['kube-node-lease', 'kube-public', 'kube-system', 'netpol-profiles'] },
        { key: `k8s:io.cilium.k8s.namespace.labels.${D}/platform`, operator: 'NotIn', values: ['true'] },
      ]);
      expect(find(objects, 'baseline-nodes')!.spec).to.deep.equal({ ingress: [{ fromEntities: ['cluster'] }], nodeSelector: {} });
    });
  });

  describe('access-<S>-ingress', () => {
    const postgres = catalog.services.get('postgres')!;
    const managed = { ...catalog, services: new Map([...catalog.services, ['postgres', { ...postgres, manageIngress: true }]]) };

    it('exists in the service namespace while at least one namespace is granted, listing them sorted', () => {
      const ns = (name: string, grant: string): NamespaceInput => ({ name, labels: { [`access.${D}/postgres`]: grant } });
      const objects = renderAll([ns('zeta', 'true'), ns('alpha', 'true'), ns('mid', 'false'), ns('kube-system', 'true')], managed, config).objects;
      const policy = find(objects, 'access-postgres-ingress', 'database')!;
      expect(policy.metadata.labels[`${D}/generated-from`]).to.equal('access-ingress.postgres');
      expect(policy.spec.endpointSelector).to.deep.equal({ matchLabels: { app: 'postgres' } });
      expect(policy.spec.ingress).to.deep.equal([
        {
          fromEndpoints: [{ matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['alpha', 'zeta'] }] }],
          toPorts: [{ ports: [{ port: '5432', protocol: 'TCP' }] }],
        },
      ]);
      expect(policy.spec.enableDefaultDeny).to.deep.equal({ egress: false, ingress: false });
      expect(find(renderAll([ns('mid', 'false')], managed, config).objects, 'access-postgres-ingress', 'database')).to.equal(undefined);
    });

    it('in a cluster, is written only into a home namespace that exists: otherwise what is there is kept (the operator and status agree)', () => {
      const namespaces = [{ name: 'shop', labels: { [`access.${D}/postgres`]: 'true' } }];
      const offline = renderAll(namespaces, managed, config);
      expect(find(offline.objects, 'access-postgres-ingress', 'database')).to.not.equal(undefined);
      const homeMissing = renderAll(namespaces, managed, config, { isWritable: (namespace) => namespace !== 'database' });
      expect(find(homeMissing.objects, 'access-postgres-ingress', 'database')).to.equal(undefined);
      expect(homeMissing.retain).to.deep.include({ namespace: 'database', sourceType: 'access-ingress', source: 'postgres' });
      // The shared-service controller renders the same from the same inputs, one service at a time.
      const perKey = renderSharedService('postgres', managed, ['shop'], config, { isWritable: (namespace) => namespace !== 'database' });
      expect(perKey).to.deep.equal({ objects: [], retain: [{ namespace: 'database', sourceType: 'access-ingress', source: 'postgres' }] });
      expect(renderSharedService('postgres', managed, ['shop'], config).objects).to.deep.equal([find(offline.objects, 'access-postgres-ingress', 'database')]);
    });

    it('is not rendered when manageIngress is false', () => {
      const objects = renderAll([{ name: 'a', labels: { [`access.${D}/postgres`]: 'true' } }], catalog, config).objects;
      expect(find(objects, 'access-postgres-ingress', 'database')).to.equal(undefined);
    });
  });

  describe('determinism', () => {
    function shuffled<T>(items: readonly T[], seed: number): T[] {
      const out = [...items];
      let state = seed;
      for (let i = out.length - 1; i > 0; i--) {
        state = (state * 1103515245 + 12345) % 2147483648;
        const j = state % (i + 1);
        [out[i], out[j]] = [out[j]!, out[i]!];
      }
      return out;
    }
    const namespaces: NamespaceInput[] = Array.from({ length: 200 }, (_, i) => ({
      name: `ns-${i}`,
      labels: {
        [`${D}/profile`]: PROFILES[i % PROFILES.length]!,
        [`access.${D}/${SERVICES[i % SERVICES.length]}`]: 'true',
        [`access.${D}/${SERVICES[(i + 1) % SERVICES.length]}`]: 'true',
      },
    }));

    it('gives byte-identical output for the same inputs, in any input order', () => {
      const first = formatObjects(renderAll(namespaces, catalog, config).objects, 'yaml');
      expect(formatObjects(renderAll(namespaces, catalog, config).objects, 'yaml')).to.equal(first);
      for (const seed of [1, 2, 3]) {
        expect(formatObjects(renderAll(shuffled(namespaces, seed), catalog, config).objects, 'yaml')).to.equal(first);
      }
      const json = formatObjects(renderAll(namespaces, catalog, config).objects, 'json');
      expect(formatObjects(renderAll(shuffled(namespaces, 9), catalog, config).objects, 'json')).to.equal(json);
    });

    it('does not depend on how the catalog was ordered or how its keys were written', () => {
      const reverseKeys = (value: unknown): unknown => {
        if (Array.isArray(value)) return value.map(reverseKeys);
        if (value === null || typeof value !== 'object') return value;
        return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reverseKeys(v)]));
      };
      const { documents } = readDocuments([DEFAULT_CATALOG_DIR], () => '');
      const rewritten = documents.reverse().map((doc) => ({ source: doc.source, object: reverseKeys(doc.object) as KubeObject }));
      const { catalog: reordered, problems } = buildCatalog(rewritten);
      expect(problems).to.deep.equal([]);
      expect(formatObjects(renderAll(namespaces, reordered, config).objects, 'yaml')).to.equal(
        formatObjects(renderAll(namespaces, catalog, config).objects, 'yaml'),
      );
    });

    it('never emits YAML anchors or aliases, though specs are shared', () => {
      const yaml = formatObjects(renderAll(namespaces, catalog, config).objects, 'yaml');
      expect(yaml).not.to.match(/[&*]a\d+/);
    });
  });
});
