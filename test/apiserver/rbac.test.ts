// Optional RBAC: tokens → users and ServiceAccounts, roles and bindings from YAML, real 403 wording,
// resourceNames, and a request log that names the subject of every request.
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { serviceAccountUser } from '../support/apiserver/rbac.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { kubectl, request, requireKubectl } from './support.js';

const RBAC_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: netpol-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: netpol-profiles
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get, list, watch]
- apiGroups: [cilium.io]
  resources: [ciliumnetworkpolicies]
  verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: netpol-profiles
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: netpol-profiles}
subjects:
- {kind: ServiceAccount, name: netpol-profiles, namespace: netpol-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: netpol-profiles-state
  namespace: netpol-system
rules:
- apiGroups: [""]
  resources: [configmaps]
  resourceNames: [netpol-profiles-state]
  verbs: [get, list, watch, update]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  verbs: [create]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: netpol-profiles-state
  namespace: netpol-system
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: netpol-profiles-state}
subjects:
- {kind: ServiceAccount, name: netpol-profiles}
`;

describe('apiserver: RBAC', function () {
  let server: TestApiServer;
  let token: string;

  before(async () => {
    server = await TestApiServer.start({ crdFiles: ciliumCrdFiles(), rbac: true });
    const file = path.join(server.dir, 'rbac.yaml');
    writeFileSync(file, RBAC_YAML);
    server.applyManifests([file]);
    server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'netpol-profiles-state', namespace: 'netpol-system' } });
    server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other', namespace: 'netpol-system' } });
    token = server.serviceAccountToken('netpol-system', 'netpol-profiles');
  });
  after(async () => {
    await server?.stop();
  });

  it('allows what the bindings grant, with the ServiceAccount as subject', async () => {
    const api = server.kubeConfig(token).makeApiClient(CoreV1Api);
    const list = await api.listNamespace();
    expect(list.items.map((n) => n.metadata!.name)).to.include('netpol-system');
    const cm = await api.readNamespacedConfigMap({ namespace: 'netpol-system', name: 'netpol-profiles-state' });
    expect(cm.metadata!.name).to.equal('netpol-profiles-state');
    const logged = server.requests.query({ user: 'system:serviceaccount:netpol-system:netpol-profiles' });
    expect(logged.map((r) => `${r.verb} ${r.resource} ${r.namespace ?? ''} ${r.name ?? ''} ${r.code}`)).to.deep.equal([
      'list namespaces   200',
      'get configmaps netpol-system netpol-profiles-state 200',
    ]);
    expect(logged[0]!.groups).to.deep.equal(['system:serviceaccounts', 'system:serviceaccounts:netpol-system', 'system:authenticated']);
  });

  it('refuses the rest with the real 403 message', async () => {
    const other = await request(server, 'GET', '/api/v1/namespaces/netpol-system/configmaps/other', { token });
    expect(other.status).to.equal(403);
    expect(other.json).to.deep.include({
      reason: 'Forbidden',
      message:
        'configmaps "other" is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot get resource "configmaps" in API group "" in the namespace "netpol-system"',
      details: { name: 'other', kind: 'configmaps' },
    });
    const list = await request(server, 'GET', '/api/v1/namespaces/netpol-system/configmaps', { token });
    expect(list.json.message).to.equal(
      'configmaps is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot list resource "configmaps" in API group "" in the namespace "netpol-system"',
    );
    const ccnp = await request(server, 'GET', '/apis/cilium.io/v2/ciliumclusterwidenetworkpolicies', { token });
    expect(ccnp.json.message).to.equal(
      'ciliumclusterwidenetworkpolicies.cilium.io is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot list resource "ciliumclusterwidenetworkpolicies" in API group "cilium.io" at the cluster scope',
    );
    const status = await request(server, 'PUT', '/api/v1/namespaces/netpol-system/status', { token, body: {} });
    expect(status.json.message).to.equal(
      'namespaces "netpol-system" is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot update resource "namespaces/status" in API group "" at the cluster scope',
    );
  });

  it('honours resourceNames for list/watch restricted to one name by field selector', async () => {
    const one = await request(server, 'GET', '/api/v1/namespaces/netpol-system/configmaps?fieldSelector=metadata.name%3Dnetpol-profiles-state', { token });
    expect(one.status).to.equal(200);
    expect((one.json.items as unknown[]).length).to.equal(1);
  });

  it('lets any authenticated user read discovery; anonymous users get 403, bad tokens 401', async () => {
    expect((await request(server, 'GET', '/apis', { token })).status).to.equal(200);
    const anonymous = await fetch(`${server.url}/api/v1/namespaces`);
    expect(anonymous.status).to.equal(403);
    expect(((await anonymous.json()) as Record<string, string>).message).to.include('User "system:anonymous" cannot list resource "namespaces"');
    expect((await request(server, 'GET', '/apis', { token: 'nope' })).status).to.equal(401);
  });

  it('follows bindings changed at runtime', async () => {
    const alice = server.rbac.addToken({ name: 'alice', groups: ['devs', 'system:authenticated'] });
    expect((await request(server, 'GET', '/api/v1/namespaces', { token: alice })).status).to.equal(403);
    server.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'devs-read' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'netpol-profiles' },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'devs' }],
    });
    expect((await request(server, 'GET', '/api/v1/namespaces', { token: alice })).status).to.equal(200);
  });

  it('kubectl with a ServiceAccount kubeconfig shows the server\'s Forbidden message', async () => {
    requireKubectl();
    const kubeconfig = server.kubeconfigFor(serviceAccountUser('netpol-system', 'netpol-profiles'), 'netpol-system');
    const allowed = await kubectl(server, ['get', 'cnp', '-A'], undefined, kubeconfig);
    expect(allowed.code, allowed.stderr).to.equal(0);
    const denied = await kubectl(server, ['get', 'configmaps'], undefined, kubeconfig);
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.include(
      'Error from server (Forbidden): configmaps is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot list resource "configmaps" in API group "" in the namespace "netpol-system"',
    );
  });

  it('answers kubectl auth can-i (access reviews), impersonating with --as', async () => {
    requireKubectl();
    const as = ['--as=system:serviceaccount:netpol-system:netpol-profiles'];
    const yes = await kubectl(server, ['auth', 'can-i', 'watch', 'ciliumnetworkpolicies.cilium.io', '--all-namespaces', ...as]);
    expect(yes.stdout).to.equal('yes\n');
    expect(yes.code).to.equal(0);
    const named = await kubectl(server, ['auth', 'can-i', 'update', 'configmaps/netpol-profiles-state', '-n', 'netpol-system', ...as]);
    expect(named.stdout).to.equal('yes\n');
    const no = await kubectl(server, ['auth', 'can-i', 'delete', 'configmaps', '-n', 'netpol-system', ...as]);
    expect(no.stdout).to.equal('no\n');
    expect(no.code).to.equal(1);
    const mine = await kubectl(server, ['auth', 'can-i', 'create', 'leases.coordination.k8s.io', '-n', 'netpol-system'], undefined, server.kubeconfigFor(serviceAccountUser('netpol-system', 'netpol-profiles'), 'netpol-system'));
    expect(mine.stdout).to.equal('yes\n');
    // Impersonating needs the `impersonate` verb (kubectl's discovery hides the message, so ask directly).
    const refused = await fetch(`${server.url}/api/v1/namespaces`, { headers: { Authorization: `Bearer ${token}`, 'Impersonate-User': 'alice' } });
    expect(refused.status).to.equal(403);
    expect(((await refused.json()) as { message: string }).message).to.equal(
      'users "alice" is forbidden: User "system:serviceaccount:netpol-system:netpol-profiles" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
  });
});
