// Every object we generate must be accepted by Cilium's real v2 CRD schemas, and our catalog
// manifests by our own CRDs; our CRDs must reject nonsense the way the API server would.
import { expect } from 'chai';
import { makeRenderConfig } from '../../src/config.js';
import { buildCatalog, readDocuments, sortDocuments } from '../../src/catalog/load.js';
import type { KubeObject, PolicyObject } from '../../src/kube/types.js';
import { renderAll, type NamespaceInput } from '../../src/render/render.js';
import { formatSchemaError, validateSchema } from '../../src/kube/openapi.js';
import { CEL_RULES } from '../support/cel.js';
import { catalogCrdSchemas, ciliumCrdSchemas, DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES, kustomize, loadCatalogFiles } from '../support/project.js';

const D = 'network-policy.homelab';

function ciliumProblems(object: PolicyObject): string[] {
  const { cnp, ccnp } = ciliumCrdSchemas();
  const schema = object.kind === 'CiliumNetworkPolicy' ? cnp : ccnp;
  return validateSchema(schema, object).map((e) => `${object.kind}/${object.metadata.name}: ${formatSchemaError(e)}`);
}

describe('schema conformance', () => {
  it('the Cilium schema check itself catches a bad policy (so the checks below can fail)', () => {
    const [object] = renderAll([{ name: 'a', labels: { [`${D}/profile`]: 'standard' } }], loadCatalogFiles(DEFAULT_CATALOG_DIR), makeRenderConfig())
      .objects.filter((o) => o.metadata.name === 'profile-standard');
    const broken = { ...object!, spec: { ...object!.spec, egress: [{ toPorts: [{ ports: [{ port: '443', protocol: 'HTTP' }] }], toEntities: ['everything'] }] } };
    const problems = ciliumProblems(broken as PolicyObject);
    expect(problems.join('\n')).to.contain('spec.egress[0].toPorts[0].ports[0].protocol').and.contain('spec.egress[0].toEntities[0]');
    const noSections = { ...object!, spec: { endpointSelector: {} } };
    expect(ciliumProblems(noSections as PolicyObject)).not.to.deep.equal([]);
  });

  it('every object rendered from the default catalog and the examples validates against Cilium v2 CRDs', () => {
    const { documents } = readDocuments([DEFAULT_CATALOG_DIR, EXAMPLE_NAMESPACES], () => '');
    const sorted = sortDocuments(documents);
    const { catalog } = buildCatalog(sorted.catalogObjects);
    const objects = renderAll(sorted.namespaces, catalog, makeRenderConfig()).objects;
    expect(objects.length).to.be.greaterThan(10);
    expect(objects.flatMap(ciliumProblems)).to.deep.equal([]);
  });

  it('every profile × service combination, with managed ingress, validates against Cilium v2 CRDs', () => {
    const catalog = loadCatalogFiles(DEFAULT_CATALOG_DIR);
    const managed = {
      ...catalog,
      services: new Map([...catalog.services].map(([name, s]) => [name, s.target.kind === 'pods' ? { ...s, manageIngress: true } : s])),
    };
    const namespaces: NamespaceInput[] = [];
    for (const profile of catalog.profiles.keys()) {
      for (const service of catalog.services.keys()) {
        namespaces.push({ name: `${profile}-${service}`, labels: { [`${D}/profile`]: profile, [`access.${D}/${service}`]: 'true' } });
      }
    }
    const objects = renderAll(namespaces, managed, makeRenderConfig()).objects;
    expect(objects.filter((o) => o.metadata.name.endsWith('-ingress'))).to.have.length(3);
    expect(objects.flatMap(ciliumProblems)).to.deep.equal([]);
  });

  it('the strict catalog (kustomize component) validates and renders baselines that select every pod', () => {
    const objects = kustomize('examples/strict');
    const baselines = objects.filter((o) => o.kind === 'NetworkBaseline');
    expect(baselines).to.have.length(4);
    for (const baseline of baselines) {
      const selector = (baseline.spec as { endpointSelector: { matchExpressions: unknown[] } }).endpointSelector;
      expect(selector.matchExpressions[0]).to.deep.equal({ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' });
    }
    const { catalog, problems } = buildCatalog(objects.map((object) => ({ source: 'kustomize', object })));
    expect(problems).to.deep.equal([]);
    const rendered = renderAll([], catalog, makeRenderConfig()).objects;
    expect(rendered.flatMap(ciliumProblems)).to.deep.equal([]);
  });

  it('the default catalog validates against our CRDs, as kustomize renders it', () => {
    const schemas = catalogCrdSchemas();
    const objects = kustomize('manifests/catalog');
    expect(objects.map((o) => o.kind).sort()).to.deep.equal([
      ...Array(4).fill('NetworkBaseline'),
      ...Array(4).fill('NetworkProfile'),
      ...Array(4).fill('SharedService'),
    ]);
    for (const object of objects) {
      expect(validateSchema(schemas.get(object.kind!)!, object, { cel: CEL_RULES }).map(formatSchemaError), `${object.kind}/${object.metadata?.name}`).to.deep.equal([]);
    }
  });

  describe('our CRDs reject nonsense', () => {
    const schemas = catalogCrdSchemas();
    const service = (spec: Record<string, unknown>): KubeObject => ({
      apiVersion: `${D}/v1alpha1`,
      kind: 'SharedService',
      metadata: { name: 'svc' },
      spec,
    });
    const errors = (object: KubeObject) => validateSchema(schemas.get(object.kind!)!, object, { cel: CEL_RULES }).map(formatSchemaError).join('\n');

    it('a name that is not a lowercase DNS label of at most 48 characters (the CRDs\' CEL rule)', () => {
      const named = (name: string) => ({ ...service({ namespace: 'db', ports: [{ port: '5432' }] }), metadata: { name } });
      expect(errors(named('a'.repeat(48)))).to.equal('');
      expect(errors(named('a'.repeat(49)))).to.equal('Invalid value: "object": metadata.name must be a lowercase DNS label of at most 48 characters');
      expect(errors(named('Postgres'))).to.contain('metadata.name must be a lowercase DNS label');
    });

    it('a port out of range', () => {
      expect(errors(service({ namespace: 'db', ports: [{ port: '99999', protocol: 'TCP' }] }))).to.contain('spec.ports[0].port');
      expect(errors(service({ namespace: 'db', ports: [{ port: '0', protocol: 'TCP' }] }))).to.contain('spec.ports[0].port');
    });

    it('an unknown protocol', () => {
      expect(errors(service({ namespace: 'db', ports: [{ port: '5432', protocol: 'HTTP' }] }))).to.contain('spec.ports[0].protocol');
    });

    it('wrong types', () => {
      expect(errors(service({ namespace: 5, ports: [{ port: 5432 }] }))).to.contain('spec.namespace').and.contain('spec.ports[0].port');
      expect(errors(service({ namespace: 'db', ports: [{ port: '5432' }], manageIngress: 'yes' }))).to.contain('spec.manageIngress');
    });

    it('both namespace and entities, or neither', () => {
      expect(errors(service({ namespace: 'db', entities: ['kube-apiserver'], ports: [{ port: '443' }] }))).not.to.equal('');
      expect(errors(service({ ports: [{ port: '443' }] }))).not.to.equal('');
      expect(errors(service({ entities: ['kube-apiserver'], ports: [{ port: '443' }] }))).to.equal('');
    });

    it('manageIngress or a podSelector on an entity service, and an unknown entity', () => {
      expect(errors(service({ entities: ['kube-apiserver'], manageIngress: true, ports: [{ port: '443' }] }))).not.to.equal('');
      expect(errors(service({ entities: ['kube-apiserver'], podSelector: {}, ports: [{ port: '443' }] }))).not.to.equal('');
      expect(errors(service({ entities: ['internet'], ports: [{ port: '443' }] }))).to.contain('spec.entities[0]');
    });

    it('a profile rule of the wrong shape (Cilium types are enforced inside rules)', () => {
      const profile: KubeObject = {
        apiVersion: `${D}/v1alpha1`,
        kind: 'NetworkProfile',
        metadata: { name: 'p' },
        spec: { egress: [{ toEntities: ['the-internet'], toPorts: [{ ports: [{ port: '443', protocol: 'HTTP' }] }] }], ingress: 'all' },
      };
      const found = errors(profile);
      expect(found).to.contain('spec.egress[0].toEntities[0]').and.contain('spec.egress[0].toPorts[0].ports[0].protocol').and.contain('spec.ingress');
    });

    it('a baseline that is not a valid CCNP spec', () => {
      const baseline: KubeObject = { apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'b' }, spec: { endpointSelector: {} } };
      expect(errors(baseline)).not.to.equal('');
    });

    it('keeps unknown fields inside rules (so our validator refuses them) instead of pruning them', () => {
      const profile: KubeObject = {
        apiVersion: `${D}/v1alpha1`,
        kind: 'NetworkProfile',
        metadata: { name: 'p' },
        spec: { egress: [{ toEntitie: ['world'], toPorts: [{ ports: [{ port: '443' }] }] }] },
      };
      expect(validateSchema(schemas.get('NetworkProfile')!, profile, { unknownFields: 'error' })).to.deep.equal([]);
    });
  });
});
