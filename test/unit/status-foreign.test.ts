// The foreign-rule check on its own: what counts as granted, and which allow rules may widen it.
import { expect } from 'chai';
import { grantedRules, wideningRules } from '../../src/status/foreign.js';

const world = { toEntities: ['world'] };
const gateway = { fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'gateway' } }] };

describe('foreign allow rules', () => {
  it('grants only the rules of specs that select every endpoint of the namespace', () => {
    const granted = grantedRules([
      { spec: { endpointSelector: {}, ingress: [gateway] } },
      { spec: { endpointSelector: { matchLabels: { app: 'db' } }, egress: [world] } },
      { spec: { ingress: [{ fromEntities: ['cluster'] }] } },
    ]);
    expect([...granted.ingress]).to.have.length(1);
    expect(granted.egress.size).to.equal(0);
    expect(wideningRules({ spec: { endpointSelector: {}, ingress: [gateway], egress: [world] } }, granted)).to.deep.equal({ ingress: 0, egress: 1 });
  });

  it('never counts empty rules or deny sections; counts anything it cannot read', () => {
    const granted = grantedRules([]);
    expect(wideningRules({ spec: { endpointSelector: {}, ingress: [{}], egress: [{}], ingressDeny: [gateway], egressDeny: [world] } }, granted)).to.deep.equal({ ingress: 0, egress: 0 });
    expect(wideningRules({ spec: { endpointSelector: {}, ingress: 'everything', egress: [null] } }, granted)).to.deep.equal({ ingress: 1, egress: 1 });
    expect(wideningRules({ metadata: {} }, granted)).to.deep.equal({ ingress: 0, egress: 0 });
  });
});
