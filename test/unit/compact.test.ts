// Cached objects are kept small: managedFields dropped, identical specs shared, inputs untouched.
import { expect } from 'chai';
import { compactPolicy, SpecInterner, withoutManagedFields } from '../../src/kube/compact.js';
import type { KubeObject } from '../../src/kube/types.js';

const policy = (namespace: string): KubeObject => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: 'profile-standard', namespace, managedFields: [{ manager: 'kubectl', fieldsV1: { 'f:spec': {} } }] },
  spec: { endpointSelector: {}, ingress: [{}], egress: [{ toEntities: ['world'] }] },
});

describe('compact cached objects', () => {
  it('shares one spec object between equal specs and drops managedFields, without mutating the input', () => {
    const interner = new SpecInterner();
    const a = policy('a');
    const b = policy('b');
    const ca = compactPolicy(a, interner);
    const cb = compactPolicy(b, interner);
    expect(ca.spec).to.equal(cb.spec);
    expect(ca.metadata).not.to.have.property('managedFields');
    expect(a.metadata).to.have.property('managedFields');
    expect(cb.metadata?.namespace).to.equal('b');
    expect(interner.size).to.equal(1);
  });

  it('keeps different specs apart', () => {
    const interner = new SpecInterner();
    const other = { ...policy('c'), spec: { endpointSelector: {}, ingress: [{ fromEntities: ['all'] }] } };
    expect(compactPolicy(policy('a'), interner).spec).not.to.deep.equal(compactPolicy(other, interner).spec);
    expect(interner.size).to.equal(2);
  });

  it('is bounded by bytes: a stream of large distinct specs keeps only the most recent, and shared ones stay shared', () => {
    const interner = new SpecInterner(1024 * 1024);
    const shared = { egress: [{ toEntities: ['world'] }] };
    expect(interner.intern(shared)).to.equal(shared);
    // An access-<S>-ingress spec listing ~2,000 namespaces, different after every grant change.
    const ingress = (step: number) => ({
      ingress: [{ fromEndpoints: [{ matchExpressions: [{ key: 'ns', operator: 'In', values: Array.from({ length: 2000 }, (_, i) => `namespace-${i}-${step}`) }] }] }],
    });
    for (let step = 0; step < 200; step++) {
      interner.intern(ingress(step));
      expect(interner.intern({ egress: [{ toEntities: ['world'] }] }), 'the shared spec stays interned').to.equal(shared);
    }
    expect(interner.bytes).to.be.at.most(1024 * 1024);
    expect(interner.size).to.be.below(50);
  });

  it('leaves an object without managedFields as it is', () => {
    const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } };
    expect(withoutManagedFields(namespace)).to.equal(namespace);
  });
});
