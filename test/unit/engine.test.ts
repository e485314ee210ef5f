// The policy engine against verdicts Cilium and Kubernetes document. Each test names its source in
// brackets; docs/simulate.md lists them with links. Where a document gives a table or an example
// policy, the test uses that policy (in YAML, as the document shows it) and checks every verdict
// the document states.

import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { PolicyEngine, type Flow, type FlowVerdict } from '../../src/engine/engine.js';
import type { Endpoint, NamespaceLabels, Protocol } from '../../src/engine/identity.js';
import type { KubeObject } from '../../src/kube/types.js';

const NAMESPACES: NamespaceLabels[] = [
  { name: 'default', labels: {} },
  { name: 'prod', labels: { env: 'prod' } },
  { name: 'alice', labels: { user: 'alice' } },
  { name: 'kube-system', labels: {} },
];

function engine(yaml: string, namespaces = NAMESPACES): PolicyEngine {
  const policies = parseAllDocuments(yaml)
    .map((doc) => doc.toJS() as KubeObject)
    .filter((object) => object !== null);
  return new PolicyEngine({ namespaces, policies });
}

const pod = (namespace: string, labels: Record<string, string> = {}): Endpoint => ({ kind: 'pod', namespace, labels });
const world = (ip?: string, fqdn?: string): Endpoint => ({ kind: 'world', ...(ip ? { ip } : {}), ...(fqdn ? { fqdn } : {}) });
const reserved = (entity: Exclude<Endpoint & { kind: 'reserved' }, never>['entity']): Endpoint => ({ kind: 'reserved', entity });

function decide(e: PolicyEngine, from: Endpoint, to: Endpoint, port?: number, protocol: Protocol = 'TCP'): FlowVerdict {
  const flow: Flow = { from, to, port, protocol };
  return e.decide(flow);
}

function verdict(e: PolicyEngine, from: Endpoint, to: Endpoint, port?: number, protocol: Protocol = 'TCP'): string {
  const result = decide(e, from, to, port, protocol);
  // The fast path and the explained path must agree on every verdict.
  expect(e.verdictOf(e.identity(from), e.identity(to), port, protocol), 'fast path').to.equal(result.verdict);
  return result.verdict;
}

describe('policy engine: verdicts documented by Cilium and Kubernetes', () => {
  describe('[Cilium docs, Policy Language, Deny Policies: the allow/deny table]', () => {
    // The table's policies: allows of L7 HTTP on 80, L4 80/TCP, L4 81/TCP and L3 from the client;
    // denies of L4 80/TCP and L3 from the client. Each column deploys a subset.
    const allowL7 = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-l7, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /}]}}]
`;
    const allowL4 = (port: number) => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-l4-${port}, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
    - fromEndpoints: [{matchLabels: {app: client}}]
      toPorts: [{ports: [{port: "${port}", protocol: TCP}]}]
`;
    const allowL3 = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: allow-l3, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress: [{fromEndpoints: [{matchLabels: {app: client}}]}]
`;
    const denyL4 = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-l4-80, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingressDeny: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
`;
    const denyL3 = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-l3, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingressDeny: [{fromEndpoints: [{matchLabels: {app: client}}]}]
`;
    const allows = [allowL7, allowL4(80), allowL4(81), allowL3];
    const columns: Array<{ column: number; policies: string[]; port81: string; port80: string }> = [
      { column: 1, policies: allows, port81: 'allowed', port80: 'allowed' },
      { column: 2, policies: [...allows, denyL4], port81: 'allowed', port80: 'denied' },
      { column: 3, policies: [...allows, denyL3], port81: 'denied', port80: 'denied' },
      { column: 4, policies: [...allows, denyL4, denyL3], port81: 'denied', port80: 'denied' },
      { column: 5, policies: [denyL4], port81: 'denied', port80: 'denied' },
    ];
    for (const { column, policies, port81, port80 } of columns) {
      it(`column ${column}: curl server:81 ${port81}, curl server:80 ${port80}`, () => {
        const e = engine(policies.join('---\n'));
        const client = pod('default', { app: 'client' });
        const server = pod('default', { app: 'server' });
        expect(verdict(e, client, server, 81)).to.equal(port81);
        expect(verdict(e, client, server, 80)).to.equal(port80);
      });
    }

    it('column 2: the deny on 80 is named as the reason, and port 81 is allowed by the L4 rule', () => {
      const e = engine([...allows, denyL4].join('---\n'));
      const denied = decide(e, pod('default', { app: 'client' }), pod('default', { app: 'server' }), 80);
      expect(denied.ingress.reasons).to.deep.equal([{ type: 'deny', policy: 'CiliumNetworkPolicy default/deny-l4-80', rule: 'ingressDeny[0]' }]);
      const allowed = decide(e, pod('default', { app: 'client' }), pod('default', { app: 'server' }), 81);
      expect(allowed.ingress.reasons.map((r) => r.type === 'allow' && `${r.policy} ${r.rule}`)).to.include('CiliumNetworkPolicy default/allow-l4-81 ingress[0]');
    });

    it('column 5: a deny-only policy still puts the pod into default deny (reason names it)', () => {
      const e = engine(denyL4);
      const result = decide(e, pod('default', { app: 'client' }), pod('default', { app: 'server' }), 81);
      expect(result.ingress.enforced).to.equal(true);
      expect(result.ingress.reasons).to.deep.equal([
        { type: 'default-deny', policy: 'CiliumNetworkPolicy default/deny-l4-80', detail: 'has an ingressDeny section' },
      ]);
    });
  });

  it('[Cilium docs, Deny Policies, from_world_deny.yaml] a CCNP denying world and allowing all: world denied, pods and host allowed', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: external-lockdown}
spec:
  endpointSelector: {}
  ingressDeny: [{fromEntities: [world]}]
  ingress: [{fromEntities: [all]}]
`);
    expect(verdict(e, world('203.0.113.7'), pod('prod'), 443)).to.equal('denied');
    expect(verdict(e, pod('default'), pod('prod'), 443)).to.equal('allowed');
    expect(verdict(e, reserved('remote-node'), pod('prod'), 443)).to.equal('allowed');
  });

  it('[Cilium docs, Deny Policies, Layer 3] an egressDeny wins over a broader egress allow (toEntities all)', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: all-but-one, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toEntities: [all]}]
  egressDeny: [{toCIDR: [192.0.2.10/32]}]
`);
    expect(verdict(e, pod('prod'), world('192.0.2.10'), 443)).to.equal('denied');
    expect(verdict(e, pod('prod'), world('192.0.2.11'), 443)).to.equal('allowed');
  });

  it('[Cilium source, pkg/policy/mapstate.go: deny entries win] a deny on one port beats an allow on all ports of the same peer', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}]}]
  ingressDeny: [{fromEndpoints: [{}], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
`);
    expect(verdict(e, pod('prod', { app: 'a' }), pod('prod'), 22)).to.equal('denied');
    expect(verdict(e, pod('prod', { app: 'a' }), pod('prod'), 8080)).to.equal('allowed');
  });

  describe('[Cilium docs, Policy Enforcement, Endpoint default policy] default-deny per direction', () => {
    const egressOnly = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress-only, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toEntities: [world], toPorts: [{ports: [{port: "443", protocol: TCP}]}]}]
`;
    it('a rule with an egress section puts the endpoint in egress default-deny only: ingress stays open', () => {
      const e = engine(egressOnly);
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('allowed');
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 80)).to.equal('denied');
      const inbound = decide(e, pod('default'), pod('prod'), 8080);
      expect(inbound.verdict).to.equal('allowed');
      expect(inbound.ingress.enforced).to.equal(false);
      expect(inbound.ingress.reasons[0]!.type).to.equal('not-enforced');
    });

    it('[Cilium docs, Ingress/Egress Default Deny, egress-default-deny.yaml] `egress: [{}]` turns on default-deny and allows nothing', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: deny-all-egress, namespace: prod}
spec:
  endpointSelector: {matchLabels: {role: restricted}}
  egress: [{}]
`);
      expect(verdict(e, pod('prod', { role: 'restricted' }), pod('prod'), 8080)).to.equal('denied');
      expect(verdict(e, pod('prod', { role: 'restricted' }), world(), 443)).to.equal('denied');
      expect(verdict(e, pod('prod', { role: 'other' }), world(), 443)).to.equal('allowed');
    });

    it('[Cilium docs, enableDefaultDeny, intercept-all-dns] a policy with `enableDefaultDeny: false` blocks nothing', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: intercept-all-dns}
spec:
  endpointSelector:
    matchExpressions:
      - {key: io.kubernetes.pod.namespace, operator: NotIn, values: [kube-system]}
      - {key: k8s-app, operator: NotIn, values: [kube-dns]}
  enableDefaultDeny: {egress: false, ingress: false}
  egress:
    - toEndpoints: [{matchLabels: {io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: TCP}, {port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
`);
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('allowed');
      const dns = decide(e, pod('prod'), pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'UDP');
      expect(dns.egress.enforced).to.equal(false);
      expect(dns.verdict).to.equal('allowed');
    });

    it('[Cilium CRD v2, enableDefaultDeny] with several policies, default-deny is on if any policy requests it', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: additive, namespace: prod}
spec:
  endpointSelector: {}
  enableDefaultDeny: {egress: false}
  egress: [{toEntities: [world], toPorts: [{ports: [{port: "443"}]}]}]
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: enforcing, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toEntities: [kube-apiserver]}]
`);
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('allowed');
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 80)).to.equal('denied');
      expect(decide(e, pod('prod'), world('198.51.100.1'), 80).egress.reasons).to.deep.equal([
        { type: 'default-deny', policy: 'CiliumNetworkPolicy prod/enforcing', detail: 'has an egress section' },
      ]);
    });
  });

  describe('[Cilium CRD v2 and pkg/policy/l4_filter_test.go Case1B] empty versus absent peer lists', () => {
    it('`fromEndpoints: []` selects nothing, even with toPorts', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
`);
      expect(verdict(e, pod('prod'), pod('prod'), 80)).to.equal('denied');
      expect(verdict(e, world('198.51.100.1'), pod('prod'), 80)).to.equal('denied');
    });

    it('[Cilium docs, Layer 4 Examples, l4.yaml] a rule with only toPorts allows every peer on those ports', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l4-rule, namespace: prod}
spec:
  endpointSelector: {matchLabels: {app: myService}}
  egress: [{toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
`);
      const service = pod('prod', { app: 'myService' });
      expect(verdict(e, service, world('198.51.100.1'), 80)).to.equal('allowed');
      expect(verdict(e, service, pod('default'), 80)).to.equal('allowed');
      expect(verdict(e, service, reserved('host'), 80)).to.equal('allowed');
      expect(verdict(e, service, world('198.51.100.1'), 443)).to.equal('denied');
      expect(verdict(e, service, world('198.51.100.1'), 80, 'UDP')).to.equal('denied');
    });
  });

  it('[cilium-cli connectivity test to-entities-world] toEntities world on 80 allows HTTP to the internet and drops HTTPS', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: client-egress-to-entities-world, namespace: default}
spec:
  endpointSelector: {matchLabels: {kind: client}}
  egress:
    - toEntities: [world]
      toPorts: [{ports: [{port: "80", protocol: TCP}]}]
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
`);
    const client = pod('default', { kind: 'client' });
    expect(verdict(e, client, world(undefined, 'one.one.one.one'), 80)).to.equal('allowed');
    expect(verdict(e, client, world(undefined, 'one.one.one.one'), 443)).to.equal('denied');
    const dns = decide(e, client, pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'UDP');
    expect(dns.verdict).to.equal('allowed');
    expect(dns.egress.l7).to.deep.equal(['dns']);
  });

  describe('[Cilium docs, IP/CIDR based] CIDR rules', () => {
    const cidrPolicy = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: cidr-rule, namespace: prod}
spec:
  endpointSelector: {matchLabels: {app: myService}}
  egress:
    - toCIDR: [20.1.1.1/32]
    - toCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]
`;
    it('cidr.yaml: 10.0.0.0/8 except 10.96.0.0/12 allows 10.1.2.3 and 20.1.1.1, not 10.96.0.1', () => {
      const e = engine(cidrPolicy);
      const service = pod('prod', { app: 'myService' });
      expect(verdict(e, service, world('10.1.2.3'), 443)).to.equal('allowed');
      expect(verdict(e, service, world('20.1.1.1'), 443)).to.equal('allowed');
      expect(verdict(e, service, world('10.96.0.1'), 443)).to.equal('denied');
      expect(verdict(e, service, world('20.1.1.2'), 443)).to.equal('denied');
    });

    it('CIDR rules do not select in-cluster endpoints: toCIDR 0.0.0.0/0 does not reach pods or the host', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: world-by-cidr, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toCIDR: [0.0.0.0/0, "::/0"]}]
`);
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('allowed');
      expect(verdict(e, pod('prod'), world('2001:db8::1'), 443)).to.equal('allowed');
      expect(verdict(e, pod('prod'), world(), 443)).to.equal('allowed');
      expect(verdict(e, pod('prod'), pod('default'), 443)).to.equal('denied');
      expect(verdict(e, pod('prod'), reserved('host'), 443)).to.equal('denied');
    });
  });

  describe('[Cilium source, pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector] namespace scoping', () => {
    const scoped = (selector: string) => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [${selector}]}]
`;
    it('a CNP fromEndpoints selector is confined to the policy namespace', () => {
      const e = engine(scoped('{matchLabels: {app: client}}'));
      expect(verdict(e, pod('prod', { app: 'client' }), pod('prod'), 80)).to.equal('allowed');
      expect(verdict(e, pod('default', { app: 'client' }), pod('prod'), 80)).to.equal('denied');
    });

    it('naming k8s:io.kubernetes.pod.namespace lifts the confinement', () => {
      const e = engine(scoped('{matchLabels: {app: client, k8s:io.kubernetes.pod.namespace: default}}'));
      expect(verdict(e, pod('default', { app: 'client' }), pod('prod'), 80)).to.equal('allowed');
      expect(verdict(e, pod('prod', { app: 'client' }), pod('prod'), 80)).to.equal('denied');
    });

    it('[utils_test.go parse-in-namespace-with-ns-labels-selector, Cilium 1.16+] a namespace-label key lifts it too', () => {
      const e = engine(scoped('{matchLabels: {k8s:io.cilium.k8s.namespace.labels.user: alice}}'));
      expect(verdict(e, pod('alice'), pod('prod'), 80)).to.equal('allowed');
      expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('denied');
    });

    it('[utils_test.go wildcard-to-from-endpoints-with-ccnp] a CCNP `fromEndpoints: [{}]` is every pod of every namespace, no reserved identity', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: pods-only}
spec:
  endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: prod}}
  ingress: [{fromEndpoints: [{}]}]
`);
      expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('allowed');
      expect(verdict(e, pod('alice', { x: 'y' }), pod('prod'), 80)).to.equal('allowed');
      expect(verdict(e, reserved('remote-node'), pod('prod'), 80)).to.equal('denied');
      expect(verdict(e, world('198.51.100.1'), pod('prod'), 80)).to.equal('denied');
    });

    it('a CNP endpointSelector applies in its own namespace even when it names another one', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {matchLabels: {k8s:io.kubernetes.pod.namespace: default}}
  ingress: [{}]
`);
      expect(verdict(e, pod('alice'), pod('prod'), 80)).to.equal('denied');
      expect(verdict(e, pod('alice'), pod('default'), 80)).to.equal('allowed');
    });
  });

  it('[Cilium docs, Terminology, Label Source] no source means any source; `k8s:` does not match reserved labels', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: sources}
spec:
  endpointSelector: {matchLabels: {app: server}}
  ingress:
    - fromEndpoints: [{matchLabels: {any:role: client}}]
    - fromEndpoints: [{matchLabels: {reserved:host: ""}}]
      toPorts: [{ports: [{port: "9000"}]}]
    - fromEndpoints: [{matchLabels: {k8s:remote-node: ""}}]
`);
    expect(verdict(e, pod('default', { role: 'client' }), pod('prod', { app: 'server' }), 80)).to.equal('allowed');
    expect(verdict(e, reserved('remote-node'), pod('prod', { app: 'server' }), 80)).to.equal('denied');
  });

  describe('[Cilium source, pkg/policy/api/entity.go InitEntities] entities', () => {
    const toEntity = (entity: string) => `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: p, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toEntities: [${entity}]}]
`;
    it('`cluster` is every in-cluster identity (pods, host, remote-node, kube-apiserver, health), not world', () => {
      const e = engine(toEntity('cluster'));
      for (const to of [pod('default'), reserved('host'), reserved('remote-node'), reserved('kube-apiserver'), reserved('health')]) {
        expect(verdict(e, pod('prod'), to, 443), JSON.stringify(to)).to.equal('allowed');
      }
      expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('denied');
    });

    it('`kube-apiserver` is the API server only; `all` is everything; `none` nothing', () => {
      const api = engine(toEntity('kube-apiserver'));
      expect(verdict(api, pod('prod'), reserved('kube-apiserver'), 6443)).to.equal('allowed');
      expect(verdict(api, pod('prod'), reserved('host'), 6443)).to.equal('denied');
      const all = engine(toEntity('all'));
      expect(verdict(all, pod('prod'), world('198.51.100.1'), 1)).to.equal('allowed');
      expect(verdict(all, pod('prod'), reserved('health'), 4240)).to.equal('allowed');
      expect(verdict(engine(toEntity('none')), pod('prod'), pod('prod'), 80)).to.equal('denied');
    });
  });

  describe('[Cilium source, daemon allow-localhost=auto and mapstate.go] host to local pods', () => {
    it('the host reaches a pod whose ingress is in default-deny', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: lockdown, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{}]
`);
      const probe = decide(e, reserved('host'), pod('prod'), 8080);
      expect(probe.verdict).to.equal('allowed');
      expect(probe.ingress.reasons[0]!.type).to.equal('allow-localhost');
      expect(verdict(e, reserved('remote-node'), pod('prod'), 8080)).to.equal('denied');
    });

    it('an explicit deny of the host still wins', () => {
      const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-host, namespace: prod}
spec:
  endpointSelector: {}
  ingressDeny: [{fromEntities: [host]}]
`);
      expect(verdict(e, reserved('host'), pod('prod'), 8080)).to.equal('denied');
    });
  });

  it('[Cilium docs, Layer 7 Examples] an L7 rule allows at L4 and leaves the rest to the proxy; a plain L4 allow on the port lifts it', () => {
    const l7 = `
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: rule1, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: service}}
  ingress:
    - fromEndpoints: [{matchLabels: {env: prod}}]
      toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]
`;
    const e = engine(l7);
    const result = decide(e, pod('default', { env: 'prod' }), pod('default', { app: 'service' }), 80);
    expect(result.verdict).to.equal('allowed');
    expect(result.ingress.l7).to.deep.equal(['http']);
    const both = engine(`${l7}---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: plain, namespace: default}
spec:
  endpointSelector: {matchLabels: {app: service}}
  ingress: [{fromEndpoints: [{matchLabels: {env: prod}}], toPorts: [{ports: [{port: "80", protocol: TCP}]}]}]
`);
    expect(decide(both, pod('default', { env: 'prod' }), pod('default', { app: 'service' }), 80).ingress.l7).to.equal(undefined);
  });

  it('[Cilium docs, Policy Enforcement: "EnableDefaultDeny does not apply to layer-7 policy"] L7 rules filter even where default-deny is off', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: l7-only, namespace: prod}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: false}
  ingress: [{toPorts: [{ports: [{port: "80", protocol: TCP}], rules: {http: [{method: GET, path: /public}]}}]}]
`);
    const result = decide(e, pod('default'), pod('prod'), 80);
    expect(result.ingress).to.deep.include({ enforced: false, verdict: 'allowed', l7: ['http'] });
    expect(decide(e, pod('default'), pod('prod'), 81).ingress.l7).to.equal(undefined);
  });

  it('[Cilium source, repository_test.go TestWildcardL3RulesEgressToEntities] an L3-only allow-all (the escape hatch) does not lift L7 rules on a port', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: dns, namespace: prod}
spec:
  endpointSelector: {}
  egress:
    - toEndpoints: [{matchLabels: {k8s:io.kubernetes.pod.namespace: kube-system, k8s:k8s-app: kube-dns}}]
      toPorts: [{ports: [{port: "53", protocol: UDP}], rules: {dns: [{matchPattern: "*"}]}}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: escape-hatch-allow-all}
spec:
  endpointSelector: {matchLabels: {io.kubernetes.pod.namespace: prod}}
  egress: [{toEntities: [all]}]
  ingress: [{fromEntities: [all]}]
`);
    expect(decide(e, pod('prod'), pod('kube-system', { 'k8s-app': 'kube-dns' }), 53, 'UDP').egress.l7).to.deep.equal(['dns']);
    expect(decide(e, pod('prod'), world('198.51.100.1'), 25).verdict).to.equal('allowed');
  });

  it('[Cilium source, repository.go computePolicyEnforcementAndRules] enableDefaultDeny true without a section for that direction turns nothing on', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: egress-only, namespace: prod}
spec:
  endpointSelector: {}
  enableDefaultDeny: {ingress: true}
  egress: [{toEntities: [world]}]
`);
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('prod'), pod('default'), 80)).to.equal('denied');
  });

  it('without a port ("every port"), a deny of any one port answers no', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: no-ssh, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEntities: [all]}]
  ingressDeny: [{fromEntities: [all], toPorts: [{ports: [{port: "22", protocol: TCP}]}]}]
`);
    expect(verdict(e, pod('default'), pod('prod'))).to.equal('denied');
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('default'), pod('prod'), undefined, 'UDP')).to.equal('allowed');
  });

  it('[Cilium docs, DNS based (toFQDNs)] matchName and matchPattern select world destinations by name', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: fqdn, namespace: prod}
spec:
  endpointSelector: {}
  egress:
    - toFQDNs: [{matchName: api.github.com}, {matchPattern: "*.cilium.io"}]
`);
    expect(verdict(e, pod('prod'), world('140.82.112.6', 'api.github.com'), 443)).to.equal('allowed');
    expect(verdict(e, pod('prod'), world(undefined, 'docs.cilium.io'), 443)).to.equal('allowed');
    expect(verdict(e, pod('prod'), world(undefined, 'a.b.cilium.io'), 443)).to.equal('denied');
    expect(verdict(e, pod('prod'), world('140.82.112.6'), 443)).to.equal('denied');
  });

  it('[Cilium CRD v2, port: "a name in the form of http"] a named port cannot be decided offline: unknown, with the reason', () => {
    const e = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: named, namespace: prod}
spec:
  endpointSelector: {}
  ingress: [{fromEndpoints: [{}], toPorts: [{ports: [{port: http, protocol: TCP}]}]}]
`);
    const result = decide(e, pod('prod', { app: 'x' }), pod('prod'), 8080);
    expect(result.verdict).to.equal('unknown');
    expect(result.ingress.reasons[0]).to.deep.include({ type: 'unknown', policy: 'CiliumNetworkPolicy prod/named', rule: 'ingress[0]' });
    expect(verdict(e, pod('prod', { app: 'x' }), pod('prod'), 8080, 'UDP')).to.equal('denied');
    // Only pods have named ports: to the world, the rule simply does not match.
    const out = engine(`
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: named-out, namespace: prod}
spec:
  endpointSelector: {}
  egress: [{toEntities: [world], toPorts: [{ports: [{port: https, protocol: TCP}]}]}]
`);
    expect(verdict(out, pod('prod'), world('198.51.100.1'), 443)).to.equal('denied');
  });

  it('[Cilium docs, Deny Policies] a CCNP deny wins over a Kubernetes NetworkPolicy allow', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all, namespace: prod}
spec:
  podSelector: {}
  ingress: [{}]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: {name: no-alice}
spec:
  endpointSelector: {}
  ingressDeny: [{fromEndpoints: [{matchLabels: {k8s:io.cilium.k8s.namespace.labels.user: alice}}]}]
  ingress: [{fromEntities: [all]}]
`);
    expect(verdict(e, pod('alice'), pod('prod'), 80)).to.equal('denied');
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('allowed');
  });
});

describe('policy engine: Kubernetes NetworkPolicy semantics [kubernetes.io, Network Policies]', () => {
  it('one `from` element with namespaceSelector and podSelector is AND: role=client pods in user=alice namespaces only', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: and, namespace: prod}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {user: alice}}
          podSelector: {matchLabels: {role: client}}
`);
    expect(verdict(e, pod('alice', { role: 'client' }), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('alice', { role: 'other' }), pod('prod'), 80)).to.equal('denied');
    expect(verdict(e, pod('prod', { role: 'client' }), pod('prod'), 80)).to.equal('denied');
  });

  it('two `from` elements are OR: role=client pods of the local namespace, or any pod in user=alice namespaces', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: or, namespace: prod}
spec:
  podSelector: {}
  ingress:
    - from:
        - namespaceSelector: {matchLabels: {user: alice}}
        - podSelector: {matchLabels: {role: client}}
`);
    expect(verdict(e, pod('alice', { role: 'other' }), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('prod', { role: 'client' }), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('default', { role: 'client' }), pod('prod'), 80)).to.equal('denied');
  });

  it('policyTypes default to Ingress (and Egress only with egress rules): an ingress-only policy leaves egress open', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: prod}
spec:
  podSelector: {}
`);
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('denied');
    expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('allowed');
    expect(decide(e, pod('default'), pod('prod'), 80).ingress.reasons).to.deep.equal([
      { type: 'default-deny', policy: 'NetworkPolicy prod/default-deny-ingress', detail: 'policyTypes defaulted to [Ingress]' },
    ]);
  });

  it('"default deny all egress": policyTypes [Egress] with no rules denies every egress', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-egress, namespace: prod}
spec:
  podSelector: {}
  policyTypes: [Egress]
`);
    expect(verdict(e, pod('prod'), world('198.51.100.1'), 443)).to.equal('denied');
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('allowed');
  });

  it('"allow all ingress": `ingress: [{}]` allows everything (unlike Cilium, where `[{}]` allows nothing)', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-all-ingress, namespace: prod}
spec:
  podSelector: {}
  ingress: [{}]
  policyTypes: [Ingress]
`);
    expect(verdict(e, world('198.51.100.1'), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('alice'), pod('prod'), 5432)).to.equal('allowed');
  });

  it('ipBlock with except, ports with endPort (the document\'s examples)', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: test-network-policy, namespace: default}
spec:
  podSelector: {matchLabels: {role: db}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{ipBlock: {cidr: 172.17.0.0/16, except: [172.17.1.0/24]}}]
      ports: [{protocol: TCP, port: 6379}]
  egress:
    - to: [{ipBlock: {cidr: 10.0.0.0/24}}]
      ports: [{protocol: TCP, port: 32000, endPort: 32768}]
`);
    const db = pod('default', { role: 'db' });
    expect(verdict(e, world('172.17.0.9'), db, 6379)).to.equal('allowed');
    expect(verdict(e, world('172.17.1.9'), db, 6379)).to.equal('denied');
    expect(verdict(e, world('172.17.0.9'), db, 6380)).to.equal('denied');
    expect(verdict(e, db, world('10.0.0.5'), 32000)).to.equal('allowed');
    expect(verdict(e, db, world('10.0.0.5'), 32768)).to.equal('allowed');
    expect(verdict(e, db, world('10.0.0.5'), 32769)).to.equal('denied');
    expect(verdict(e, db, world('10.0.1.5'), 32000)).to.equal('denied');
  });

  it('a named port is the destination pod\'s container port of that name (given the pod\'s ports)', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: metrics, namespace: prod}
spec:
  podSelector: {}
  ingress: [{ports: [{port: metrics}]}]
`);
    const withPorts = (ports: Array<{ name: string; port: number }>): Endpoint => ({
      kind: 'pod',
      namespace: 'prod',
      labels: { app: 'db' },
      ports: ports.map((p) => ({ ...p, protocol: 'TCP' as const })),
    });
    const db = withPorts([{ name: 'metrics', port: 9187 }, { name: 'postgres', port: 5432 }]);
    expect(verdict(e, pod('default'), db, 9187)).to.equal('allowed');
    expect(verdict(e, pod('default'), db, 5432)).to.equal('denied');
    expect(verdict(e, pod('default'), withPorts([{ name: 'metrics', port: 9100 }]), 9187)).to.equal('denied');
    expect(verdict(e, pod('default'), pod('prod'), 9187)).to.equal('unknown');
  });

  it('namespaceSelector matches kubernetes.io/metadata.name, which every Namespace carries', () => {
    const e = engine(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: from-kube-system, namespace: prod}
spec:
  podSelector: {}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}]}]
`);
    expect(verdict(e, pod('kube-system'), pod('prod'), 80)).to.equal('allowed');
    expect(verdict(e, pod('default'), pod('prod'), 80)).to.equal('denied');
  });
});
