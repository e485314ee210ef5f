// Catalog validation: what a cluster admin can get wrong in a NetworkProfile, SharedService or
// NetworkBaseline, and that each mistake is refused with a message naming the field.
import { expect } from 'chai';
import { buildCatalog } from '../../src/catalog/load.js';
import { validateCatalogObject } from '../../src/catalog/validate.js';
import type { KubeObject } from '../../src/kube/types.js';

const API = 'network-policy.homelab/v1alpha1';
const object = (kind: string, name: string, spec: unknown): KubeObject => ({ apiVersion: API, kind, metadata: { name }, spec });
const problems = (o: KubeObject): string[] => {
  const result = validateCatalogObject(o);
  return result.ok ? [] : result.problems;
};

describe('catalog validation', () => {
  it('accepts a profile and canonicalises its rules (sorted keys)', () => {
    const result = validateCatalogObject(object('NetworkProfile', 'web', { egress: [{ toPorts: [{ ports: [{ protocol: 'TCP', port: '443' }] }], toEntities: ['world'] }] }));
    expect(result.ok).to.equal(true);
    if (!result.ok || result.entry.kind !== 'NetworkProfile') throw new Error('expected a profile');
    expect(JSON.stringify(result.entry.value.egress)).to.equal('[{"toEntities":["world"],"toPorts":[{"ports":[{"port":"443","protocol":"TCP"}]}]}]');
    expect(result.entry.value.ingress).to.deep.equal([]);
  });

  it('refuses a misspelt rule field that Cilium would silently prune (it would widen the rule)', () => {
    const found = problems(object('NetworkProfile', 'web', { egress: [{ toEntitie: ['world'], toPorts: [{ ports: [{ port: '443' }] }] }] }));
    expect(found.join('\n')).to.contain('spec.egress[0].toEntitie');
  });

  it('refuses rule content of the wrong type, with the field path', () => {
    const found = problems(object('NetworkProfile', 'web', { ingress: [{ fromCIDR: ['not-a-cidr'] }], egress: 'world' }));
    expect(found.join('\n')).to.contain('spec.ingress[0].fromCIDR[0]').and.contain('spec.egress');
  });

  it('refuses a numeric rule port above 65535 (Cilium\'s own schema lets it through)', () => {
    const found = problems(object('NetworkProfile', 'web', { egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '99999' }] }] }] }));
    expect(found.join('\n')).to.contain('spec.egress[0].toPorts[0].ports[0].port');
  });

  it('refuses unknown spec fields and a namespace on a cluster-scoped object', () => {
    const o = object('NetworkProfile', 'web', { ingres: [] });
    o.metadata!.namespace = 'default';
    const found = problems(o);
    expect(found).to.include('spec.ingres is not a NetworkProfile field');
    expect(found.join('\n')).to.contain('cluster-scoped');
  });

  for (const [name, why] of [
    ['Web', 'upper case'],
    ['a'.repeat(49), 'too long for the generated-from label'],
    ['web.app', 'a dot'],
    ['', 'missing'],
  ] as const) {
    it(`refuses the name ${JSON.stringify(name.slice(0, 12))} (${why})`, () => {
      expect(problems(object('NetworkProfile', name, {})).join('\n')).to.contain('metadata.name');
    });
  }

  it('accepts the default shapes of a shared service: pods in a namespace, or entities', () => {
    const pods = validateCatalogObject(object('SharedService', 'pg', { namespace: 'db', podSelector: { matchLabels: { app: 'pg' } }, ports: [{ port: '5432' }] }));
    expect(pods.ok).to.equal(true);
    if (pods.ok && pods.entry.kind === 'SharedService') expect(pods.entry.value.ports).to.deep.equal([{ port: '5432', protocol: 'TCP' }]);
    expect(validateCatalogObject(object('SharedService', 'api', { entities: ['kube-apiserver'], ports: [{ port: '443', protocol: 'TCP' }] })).ok).to.equal(true);
  });

  const cases: Array<[string, unknown, string]> = [
    ['both namespace and entities', { namespace: 'db', entities: ['kube-apiserver'], ports: [{ port: '1' }] }, 'mutually exclusive'],
    ['neither namespace nor entities', { ports: [{ port: '1' }] }, 'is required'],
    ['a port out of range', { namespace: 'db', ports: [{ port: '70000' }] }, 'spec.ports[0].port'],
    ['a port of 0', { namespace: 'db', ports: [{ port: '0' }] }, 'spec.ports[0].port'],
    ['a named port', { namespace: 'db', ports: [{ port: 'postgres' }] }, 'spec.ports[0].port'],
    ['an unknown protocol', { namespace: 'db', ports: [{ port: '5432', protocol: 'ICMP' }] }, 'spec.ports[0].protocol'],
    ['no ports', { namespace: 'db', ports: [] }, 'spec.ports'],
    ['an endPort below the port', { namespace: 'db', ports: [{ port: '100', endPort: 10 }] }, 'spec.ports[0].endPort'],
    ['an unknown entity', { entities: ['internet'], ports: [{ port: '1' }] }, 'spec.entities[0]'],
    ['manageIngress on entities', { entities: ['kube-apiserver'], manageIngress: true, ports: [{ port: '1' }] }, 'manageIngress'],
    ['a podSelector that selects namespaces', { namespace: 'db', podSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'x' } }, ports: [{ port: '1' }] }, 'spec.namespace instead'],
    ['an In expression without values', { namespace: 'db', podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] }, ports: [{ port: '1' }] }, 'values'],
    ['an invalid namespace', { namespace: 'DB!', ports: [{ port: '1' }] }, 'spec.namespace'],
    ['manageIngress that is not a boolean', { namespace: 'db', manageIngress: 'true', ports: [{ port: '1' }] }, 'spec.manageIngress'],
  ];
  for (const [what, spec, expected] of cases) {
    it(`refuses a shared service with ${what}`, () => {
      expect(problems(object('SharedService', 'svc', spec)).join('\n')).to.contain(expected);
    });
  }

  it('refuses a baseline with no rule section or no selector, and one with a misspelt field', () => {
    expect(problems(object('NetworkBaseline', 'b', { endpointSelector: {} })).join('\n')).to.contain('at least one of ingress');
    expect(problems(object('NetworkBaseline', 'b', { ingress: [{}] })).join('\n')).to.contain('endpointSelector');
    expect(problems(object('NetworkBaseline', 'b', { endpointSelector: {}, egress: [{ toEntity: ['world'] }] })).join('\n')).to.contain('toEntity');
  });

  it('accepts a baseline whose policy log value Cilium accepts, and refuses one with a control character (Go RE2 \\PC)', () => {
    const spec = (value: string) => ({ endpointSelector: {}, egress: [{ toEntities: ['kube-apiserver'] }], log: { value } });
    const accepted = validateCatalogObject(object('NetworkBaseline', 'audited', spec('baseline audited')));
    expect(accepted.ok, accepted.ok ? '' : accepted.problems.join('\n')).to.equal(true);
    expect(problems(object('NetworkBaseline', 'audited', spec('tab\there'))).join('\n')).to.match(/spec\.log\.value.*should match/);
  });

  it('refuses empty rule lists in profiles and baselines, saying to omit the field', () => {
    const profile = problems(object('NetworkProfile', 'p', { ingress: [] }));
    expect(profile).to.deep.equal([
      'spec.ingress is an empty list: omit it, or give at least one rule (Cilium 1.17+ rejects a policy whose sections are all empty; older versions ignore an empty section)',
    ]);
    const baseline = problems(object('NetworkBaseline', 'b', { endpointSelector: {}, ingress: [], egress: [{ toEntities: ['world'] }] }));
    expect(baseline.join('\n')).to.contain('spec.ingress is an empty list');
    expect(problems(object('NetworkBaseline', 'b', { endpointSelector: {}, egressDeny: [] })).join('\n')).to.contain('spec.egressDeny is an empty list');
  });

  it('refuses what the minimum Cilium (1.18) would refuse: the VRRP/IGMP protocols, a port entry without a port', () => {
    const vrrp = problems(object('NetworkProfile', 'p', { egress: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '0', protocol: 'VRRP' }] }] }] }));
    expect(vrrp.join('\n')).to.match(/spec\.egress\[0\]\.toPorts\[0\]\.ports\[0\]\.protocol.*VRRP/);
    const noPort = problems(object('NetworkBaseline', 'b', { endpointSelector: {}, ingress: [{ fromEntities: ['host'], toPorts: [{ ports: [{ protocol: 'TCP' }] }] }] }));
    expect(noPort.join('\n')).to.match(/spec\.ingress\[0\]\.toPorts\[0\]\.ports\[0\]\.port.*[Rr]equired/);
  });

  it('builds a catalog from valid objects and reports invalid and duplicate ones by source and name', () => {
    const { catalog, problems: found } = buildCatalog([
      { source: 'a.yaml', object: object('NetworkProfile', 'web', {}) },
      { source: 'b.yaml', object: object('NetworkProfile', 'web', {}) },
      { source: 'b.yaml', object: object('SharedService', 'bad', { ports: [] }) },
    ]);
    expect([...catalog.profiles.keys()]).to.deep.equal(['web']);
    expect(catalog.services.size).to.equal(0);
    expect(found.map((p) => `${p.source}: ${p.subject}`)).to.deep.equal([
      'b.yaml: NetworkProfile/web',
      'b.yaml: SharedService/bad',
      'b.yaml: SharedService/bad',
    ]);
    expect(found[0]!.message).to.contain('defined twice (also in a.yaml)');
  });
});
