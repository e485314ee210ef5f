// Conformance of the test API server with the real kubectl: what kubectl prints and what is stored.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { KUBECTL, WIDGET_CRD, eventually, kubectl, requireKubectl } from './support.js';

const CNP_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata:
  name: profile-standard
  namespace: shop
  labels:
    app.kubernetes.io/managed-by: netpol-profiles
spec:
  endpointSelector: {}
  ingress:
  - fromEntities: [world]
    toPorts:
    - ports:
      - port: "8080"
        protocol: TCP
`;

describe('apiserver: kubectl conformance', function () {
  let server: TestApiServer;

  before(async () => {
    requireKubectl();
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles() });
    server.loadCrds([WIDGET_CRD]);
  });
  after(async () => {
    await server?.stop();
  });

  it('version and get namespaces', async () => {
    const version = await kubectl(server, ['version', '-o', 'json']);
    expect(version.code, version.stderr).to.equal(0);
    expect(JSON.parse(version.stdout).serverVersion.gitVersion).to.match(/^v1\.32\./);
    const ns = await kubectl(server, ['get', 'namespaces']);
    expect(ns.code, ns.stderr).to.equal(0);
    const lines = ns.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^NAME\s+STATUS\s+AGE$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' '))).to.deep.equal([
      'default Active',
      'kube-node-lease Active',
      'kube-public Active',
      'kube-system Active',
    ]);
  });

  it('create -f, get and get -o yaml of CiliumNetworkPolicies (short name and full name)', async () => {
    const created = await kubectl(server, ['create', '-f', '-'], CNP_YAML);
    expect(created.code, created.stderr).to.equal(0);
    expect(created.stdout).to.equal('namespace/shop created\nciliumnetworkpolicy.cilium.io/profile-standard created\n');

    const table = await kubectl(server, ['get', 'ciliumnetworkpolicies.cilium.io', '-n', 'shop']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/^NAME\s+AGE\s+VALID\nprofile-standard\s+\d+s\s*\n$/);

    const all = await kubectl(server, ['get', 'cnp', '-A', '-o', 'name']);
    expect(all.stdout).to.equal('ciliumnetworkpolicy.cilium.io/profile-standard\n');

    const yaml = await kubectl(server, ['get', 'cnp', '-n', 'shop', 'profile-standard', '-o', 'jsonpath={.metadata.generation} {.spec.ingress[0].toPorts[0].ports[0].port} {.metadata.uid}']);
    const [generation, port, uid] = yaml.stdout.split(' ');
    expect(generation).to.equal('1');
    expect(port).to.equal('8080');
    expect(uid).to.match(/^[0-9a-f-]{36}$/);
    expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'profile-standard')?.metadata.uid).to.equal(uid);
  });

  it('create -f again is refused with AlreadyExists', async () => {
    const again = await kubectl(server, ['create', '-f', '-'], CNP_YAML);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include('Error from server (AlreadyExists): error when creating "STDIN": namespaces "shop" already exists');
    expect(again.stderr).to.include('ciliumnetworkpolicies.cilium.io "profile-standard" already exists');
  });

  it('apply -f configures what changed and bumps generation only on spec changes', async () => {
    const first = await kubectl(server, ['apply', '-f', '-'], CNP_YAML);
    expect(first.code, first.stderr).to.equal(0);
    expect(first.stdout).to.equal('namespace/shop configured\nciliumnetworkpolicy.cilium.io/profile-standard configured\n');
    const unchanged = await kubectl(server, ['apply', '-f', '-'], CNP_YAML);
    expect(unchanged.stdout).to.equal('namespace/shop unchanged\nciliumnetworkpolicy.cilium.io/profile-standard unchanged\n');
    const changed = await kubectl(server, ['apply', '-f', '-'], CNP_YAML.replace('"8080"', '"9090"'));
    expect(changed.stdout).to.equal('namespace/shop unchanged\nciliumnetworkpolicy.cilium.io/profile-standard configured\n');
    const stored = server.get('cilium.io/v2', 'CiliumNetworkPolicy', 'shop', 'profile-standard')!;
    expect(stored.metadata.generation).to.equal(2);
    expect(JSON.stringify(stored.spec)).to.include('"9090"');
    expect(stored.metadata.annotations).to.have.property('kubectl.kubernetes.io/last-applied-configuration');
  });

  it('apply -f of an invalid policy shows the server\'s 422 with the field path', async () => {
    const bad = await kubectl(server, ['apply', '-f', '-'], CNP_YAML.replace('protocol: TCP', 'protocol: TCPX'));
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include(
      'The CiliumNetworkPolicy "profile-standard" is invalid: spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "TCPX": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"',
    );
  });

  it('create -f with an unknown field: refused by default (kubectl asks for Strict), warned and pruned with --validate=warn', async () => {
    const yaml = CNP_YAML.split('---\n')[1]!.replace('profile-standard', 'pruned').replace('endpointSelector: {}', 'endpointSelector: {}\n  bogus: 1');
    const strict = await kubectl(server, ['create', '-f', '-'], yaml);
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.equal('Error from server (BadRequest): error when creating "STDIN": strict decoding error: unknown field "spec.bogus"\n');
    const warned = await kubectl(server, ['create', '--validate=warn', '-f', '-'], yaml);
    expect(warned.code, warned.stderr).to.equal(0);
    expect(warned.stderr).to.include('Warning: unknown field "spec.bogus"');
    expect(server.get('cilium.io/v2', 'CiliumNetworkPolicy', 'shop', 'pruned')!.spec).to.not.have.property('bogus');
  });

  it('label and annotate (strategic merge for built-ins, merge patch for custom resources)', async () => {
    const label = await kubectl(server, ['label', 'namespace', 'shop', 'network-policy.homelab/profile=standard']);
    expect(label.stdout).to.equal('namespace/shop labeled\n');
    const annotate = await kubectl(server, ['annotate', 'cnp', '-n', 'shop', 'profile-standard', 'example.com/owner=team-a']);
    expect(annotate.stdout).to.equal('ciliumnetworkpolicy.cilium.io/profile-standard annotated\n');
    const shown = await kubectl(server, ['get', 'ns', 'shop', '--show-labels', '--no-headers']);
    expect(shown.stdout).to.match(/^shop\s+Active\s+\d+s\s+kubernetes\.io\/metadata\.name=shop,network-policy\.homelab\/profile=standard\n$|^shop\s+Active\s+\d+s\s+network-policy\.homelab\/profile=standard\n$/);
    expect(server.get('v1', 'Namespace', undefined, 'shop')!.metadata.labels).to.deep.include({ 'network-policy.homelab/profile': 'standard' });
    expect(server.get('cilium.io/v2', 'CiliumNetworkPolicy', 'shop', 'profile-standard')!.metadata.annotations).to.deep.include({
      'example.com/owner': 'team-a',
    });
    const remove = await kubectl(server, ['label', 'namespace', 'shop', 'network-policy.homelab/profile-']);
    expect(remove.stdout).to.equal('namespace/shop unlabeled\n');
    expect(server.get('v1', 'Namespace', undefined, 'shop')!.metadata.labels ?? {}).to.not.have.property('network-policy.homelab/profile');
    const bad = await kubectl(server, ['label', 'namespace', 'shop', 'bad=value with spaces']);
    expect(bad.code).to.equal(1);
  });

  it('get of a custom resource shows its printer columns', async () => {
    const widget = `apiVersion: test.netpol.dev/v1
kind: Widget
metadata: {name: w1, namespace: shop}
spec: {replicas: 3, color: blue}
`;
    const created = await kubectl(server, ['apply', '-f', '-'], widget);
    expect(created.stdout).to.equal('widget.test.netpol.dev/w1 created\n');
    server.apply({ ...server.get('test.netpol.dev/v1', 'Widget', 'shop', 'w1')!, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const table = await kubectl(server, ['get', 'widgets', '-n', 'shop']);
    expect(table.code, table.stderr).to.equal(0);
    expect(table.stdout).to.match(/^NAME\s+REPLICAS\s+COLOR\s+READY\s+AGE\nw1\s+3\s+blue\s+True\s+\d+s\n$/);
    const defaulted = await kubectl(server, ['apply', '-f', '-'], widget.replace('w1', 'w2').replace(', color: blue', ''));
    expect(defaulted.code, defaulted.stderr).to.equal(0);
    const wide = await kubectl(server, ['get', 'wdg', 'w2', '-n', 'shop', '--no-headers']);
    // A missing column value is a null cell, which kubectl prints as nothing.
    expect(wide.stdout).to.match(/^w2\s+3\s+red\s+\d+s\n$/);
  });

  it('delete removes objects, and a namespace with its content', async () => {
    const del = await kubectl(server, ['delete', 'cnp', '-n', 'shop', 'pruned']);
    expect(del.stdout).to.equal('ciliumnetworkpolicy.cilium.io "pruned" deleted\n');
    expect(server.get('cilium.io/v2', 'CiliumNetworkPolicy', 'shop', 'pruned')).to.equal(undefined);
    const missing = await kubectl(server, ['delete', 'cnp', '-n', 'shop', 'pruned']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.equal('Error from server (NotFound): ciliumnetworkpolicies.cilium.io "pruned" not found\n');
    const ns = await kubectl(server, ['delete', 'namespace', 'shop']);
    expect(ns.code, ns.stderr).to.equal(0);
    expect(ns.stdout).to.equal('namespace "shop" deleted\n');
    expect(server.get('v1', 'Namespace', undefined, 'shop')).to.equal(undefined);
    expect(server.list('cilium.io/v2', 'CiliumNetworkPolicy', 'shop')).to.deep.equal([]);
  });

  it('imperative create commands (sent as protobuf) store what kubectl meant', async () => {
    for (const args of [
      ['create', 'namespace', 'imperative'],
      ['create', 'configmap', 'settings', '-n', 'imperative', '--from-literal=mode=strict'],
      ['create', 'serviceaccount', 'operator', '-n', 'imperative'],
      ['create', 'role', 'reader', '-n', 'imperative', '--verb=get,list', '--resource=configmaps', '--resource-name=settings'],
      ['create', 'rolebinding', 'reader', '-n', 'imperative', '--role=reader', '--serviceaccount=imperative:operator'],
    ]) {
      const r = await kubectl(server, args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).to.equal(0);
    }
    expect(server.get('v1', 'ConfigMap', 'imperative', 'settings')!.data).to.deep.equal({ mode: 'strict' });
    expect(server.get('rbac.authorization.k8s.io/v1', 'Role', 'imperative', 'reader')!.rules).to.deep.equal([
      { verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] },
    ]);
    expect(server.get('rbac.authorization.k8s.io/v1', 'RoleBinding', 'imperative', 'reader')!.subjects).to.deep.equal([
      { kind: 'ServiceAccount', name: 'operator', namespace: 'imperative' },
    ]);
    const list = await kubectl(server, ['get', 'configmaps,serviceaccounts', '-n', 'imperative', '--no-headers']);
    expect(list.stdout).to.match(/^configmap\/settings\s+1\s+\d+s\n\s*serviceaccount\/operator\s+0\s+\d+s\n$/);
  });

  it('get -w prints the changes it sees', async () => {
    await kubectl(server, ['create', 'namespace', 'watched']).then((r) => expect(r.code, r.stderr).to.equal(0));
    const child = spawn(KUBECTL, ['--kubeconfig', server.kubeconfigPath, '--cache-dir', `${server.dir}/kubectl-cache`, 'get', 'widgets', '-n', 'watched', '-w', '--output-watch-events']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => child.on('exit', resolve));
    try {
      // The watch is open once kubectl has asked for it.
      await eventually(() => (server.watches.openCount({ resource: 'widgets' }) > 0 ? true : undefined), 'kubectl watch');
      const widget = { apiVersion: 'test.netpol.dev/v1', kind: 'Widget', metadata: { name: 'seen', namespace: 'watched' }, spec: { replicas: 1 } };
      const r1 = await kubectl(server, ['apply', '-f', '-'], JSON.stringify(widget));
      expect(r1.code, r1.stderr).to.equal(0);
      await kubectl(server, ['apply', '-f', '-'], JSON.stringify({ ...widget, spec: { replicas: 7 } }));
      await kubectl(server, ['delete', 'widget', '-n', 'watched', 'seen']);
      const lines = await eventually(() => {
        const l = out.trim().split('\n');
        return l.length >= 4 ? l : undefined;
      }, 'three watch events from kubectl');
      expect(lines[0]).to.match(/^EVENT\s+NAME\s+REPLICAS\s+COLOR\s+READY\s+AGE$/);
      expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).to.deep.equal([
        'ADDED seen 1 red',
        'MODIFIED seen 7 red',
        'DELETED seen 7 red',
      ]);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
