// The admission guards end to end: manifests/, the default catalog and manifests/admission/
// installed with the real kubectl on the test API server with RBAC enforced, the operator running
// as its ServiceAccount, and people acting through `kubectl --as/--as-group`. Each person has the
// RBAC to make the change, so what refuses it is the admission policy, as on a real cluster.
import { expect } from 'chai';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { serviceAccountUser } from '../support/apiserver/rbac.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { D, eventually, expectConverged, startOperator, type RunningOperator } from '../support/operator-harness.js';
import { projectPath } from '../support/project.js';
import { kubectl, requireKubectl, type KubectlResult } from '../apiserver/support.js';

const OPERATOR = serviceAccountUser('netpol-profiles', 'netpol-profiles');
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const DEV = ['--as=dev', '--as-group=developers'];
const ONCALL = ['--as=oncall', '--as-group=netpol-profiles:break-glass'];
const GITOPS = [`--as=${ARGO}`];

const OWNERS =
  'GitOps (users system:serviceaccount:argocd:argocd-application-controller, system:serviceaccount:flux-system:kustomize-controller; groups netpol-profiles:gitops) or cluster admins (groups system:masters)';
const LABELS_DENIED = `The namespaces "shop" is invalid: : ValidatingAdmissionPolicy 'netpol-profiles-namespace-labels' with binding 'netpol-profiles-namespace-labels' denied request:`;
const POLICIES_DENIED = `ValidatingAdmissionPolicy 'netpol-profiles-generated-policies' with binding 'netpol-profiles-generated-policies' denied request:`;

/** What the people in these tests may do by RBAC: enough that only admission can refuse them. */
const PEOPLE_RBAC = `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: shop-owner}
rules:
- {apiGroups: [""], resources: [namespaces], resourceNames: [shop], verbs: [get, patch, update]}
- {apiGroups: [network-policy.homelab], resources: [networkprofiles], verbs: [get, patch, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-owner}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: shop-owner}
subjects: [{kind: Group, name: developers}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: break-glass}
rules:
- {apiGroups: [""], resources: [namespaces], verbs: [get, patch, update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: break-glass}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: break-glass}
subjects: [{kind: Group, name: "netpol-profiles:break-glass"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: gitops}
rules:
- {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: gitops}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: gitops}
subjects: [{kind: ServiceAccount, name: argocd-application-controller, namespace: argocd}]
`;

/** Developers edit the Cilium policies of their namespace. */
const SHOP_RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: policy-editor, namespace: shop}
rules:
- {apiGroups: [cilium.io], resources: [ciliumnetworkpolicies], verbs: [get, list, create, update, patch, delete]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: policy-editor, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: policy-editor}
subjects: [{kind: Group, name: developers}]
`;

const SHOP = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    ${D}/profile: standard
`;

function cnpYaml(name: string, labels: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name, namespace: 'shop', labels },
    spec: { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }] },
  });
}

describe('admission guards (integration): manifests/admission/ with RBAC, kubectl as different users', function () {
  this.timeout(90_000);
  let server: TestApiServer;
  let operator: RunningOperator | undefined;
  let start: number;

  const run = (args: string[], input?: string) => kubectl(server, args, input);
  async function ok(args: string[], input?: string): Promise<KubectlResult> {
    const result = await run(args, input);
    expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).to.equal(0);
    return result;
  }
  async function refused(args: string[], input?: string): Promise<string> {
    const result = await run(args, input);
    expect(result.code, `kubectl ${args.join(' ')} succeeded: ${result.stdout}`).to.not.equal(0);
    return result.stderr.trim();
  }
  const labels = () => server.get('v1', 'namespaces', undefined, 'shop')?.metadata.labels ?? {};
  const policy = (name: string) => server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', name);

  before(async () => {
    requireKubectl();
    server = await TestApiServer.start({ rbac: true, crdFiles: ciliumCrdFiles(), bookmarkIntervalMs: 200 });
    await ok(['apply', '-k', projectPath('manifests')]);
    await ok(['apply', '-k', projectPath('manifests/catalog')]);
    await ok(['apply', '-k', projectPath('manifests/admission')]);
    await ok(['apply', '-f', '-'], PEOPLE_RBAC);
    await ok([...GITOPS, 'apply', '-f', '-'], SHOP);
    await ok(['apply', '-f', '-'], SHOP_RBAC);
    start = server.requests.mark();
    operator = await startOperator(server, { token: server.serviceAccountToken('netpol-profiles', 'netpol-profiles') });
    await expectConverged(server, 20_000);
  });
  after(async () => {
    await operator?.stop();
    await server.stop();
  });

  it('a developer may not set access.D/postgres, D/platform or D/enforcement on their namespace, and is told which label and who may', async () => {
    expect(await refused([...DEV, 'label', 'namespace', 'shop', `access.${D}/postgres=true`])).to.equal(
      `${LABELS_DENIED} label access.${D}/postgres may be added, changed or removed only by ${OWNERS}; change it in git`,
    );
    expect(await refused([...DEV, 'label', 'namespace', 'shop', `${D}/platform=true`])).to.equal(
      `${LABELS_DENIED} label ${D}/platform may be added, changed or removed only by ${OWNERS}; change it in git`,
    );
    expect(await refused([...DEV, 'label', 'namespace', 'shop', `${D}/enforcement=disabled`])).to.equal(
      `${LABELS_DENIED} label ${D}/enforcement (the escape hatch) may be set or removed only by the break-glass groups (netpol-profiles:break-glass), ${OWNERS}`,
    );
    expect(await refused([...DEV, 'label', 'namespace', 'shop', `${D}/profile-`])).to.contain(`label ${D}/profile may be added, changed or removed`);
    expect(labels()).to.deep.equal({ [`${D}/profile`]: 'standard', 'kubernetes.io/metadata.name': 'shop' });
    // Their own labels are theirs.
    await ok([...DEV, 'label', 'namespace', 'shop', 'team=checkout']);
    expect(labels()).to.deep.equal({ [`${D}/profile`]: 'standard', 'kubernetes.io/metadata.name': 'shop', team: 'checkout' });
  });

  it('the GitOps ServiceAccount may, and the operator follows', async () => {
    await ok([...GITOPS, 'label', 'namespace', 'shop', `access.${D}/postgres=true`]);
    await eventually(() => expect(policy('access-postgres')?.metadata.labels?.['app.kubernetes.io/managed-by']).to.equal('netpol-profiles'), 20_000, 'access-postgres');
    await expectConverged(server, 20_000);
  });

  it('the break-glass group may set and remove the escape hatch, and nothing else of ours', async () => {
    await ok([...ONCALL, 'label', 'namespace', 'shop', `${D}/enforcement=disabled`]);
    expect(labels()[`${D}/enforcement`]).to.equal('disabled');
    expect(await refused([...ONCALL, 'label', 'namespace', 'shop', `${D}/profile=internal`, '--overwrite'])).to.contain(`label ${D}/profile may be added, changed or removed only by`);
    await ok([...ONCALL, 'label', 'namespace', 'shop', `${D}/enforcement-`]);
    expect(labels()).to.not.have.property(`${D}/enforcement`);
  });

  it('a developer may not create profile-standard, add the managed-by label, or edit or delete access-postgres', async () => {
    const generated = policy('access-postgres')!;
    expect(await refused([...DEV, 'create', '-f', '-'], cnpYaml('profile-standard'))).to.contain(
      `${POLICIES_DENIED} the name profile-standard is reserved for the CiliumNetworkPolicys netpol-profiles generates (profile-*, access-*): choose another name`,
    );
    await ok([...DEV, 'create', '-f', '-'], cnpYaml('allow-web'));
    expect(await refused([...DEV, 'label', 'cnp', 'allow-web', '-n', 'shop', 'app.kubernetes.io/managed-by=netpol-profiles'])).to.equal(
      `The ciliumnetworkpolicies "allow-web" is invalid: : ${POLICIES_DENIED} only the operator (system:serviceaccount:netpol-profiles:netpol-profiles) may create or label a CiliumNetworkPolicy app.kubernetes.io/managed-by=netpol-profiles`,
    );
    const edit = JSON.stringify({ spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } });
    const editDenied = `${POLICIES_DENIED} CiliumNetworkPolicy access-postgres is generated by netpol-profiles (app.kubernetes.io/managed-by=netpol-profiles): only the operator (system:serviceaccount:netpol-profiles:netpol-profiles) may change or delete it; change the namespace labels or the catalog in git instead`;
    expect(await refused([...DEV, 'patch', 'cnp', 'access-postgres', '-n', 'shop', '--type=merge', '-p', edit])).to.equal(`The ciliumnetworkpolicies "access-postgres" is invalid: : ${editDenied}`);
    expect(await refused([...DEV, 'delete', 'cnp', 'access-postgres', '-n', 'shop'])).to.contain(editDenied);
    expect(policy('access-postgres')!.spec).to.deep.equal(generated.spec);
    expect(policy('access-postgres')!.metadata.resourceVersion).to.equal(generated.metadata.resourceVersion);
    expect(policy('profile-standard')!.metadata.labels?.['app.kubernetes.io/managed-by']).to.equal('netpol-profiles');
  });

  it('the catalog changes only through GitOps', async () => {
    const patch = JSON.stringify({ spec: { egress: [{ toEntities: ['world'] }] } });
    expect(await refused([...DEV, 'patch', 'networkprofile', 'standard', '--type=merge', '-p', patch])).to.contain(
      `ValidatingAdmissionPolicy 'netpol-profiles-catalog' with binding 'netpol-profiles-catalog' denied request: NetworkProfile standard is part of the network-policy catalog: only ${OWNERS} may create, change or delete it; change it in git`,
    );
    const annotate = await ok([...GITOPS, 'annotate', 'networkprofile', 'standard', 'reviewed-by=platform']);
    expect(annotate.stdout).to.contain('annotated');
  });

  it('in Warn mode (overlays/admission-warn) the same change goes through, and kubectl shows the refusal as a warning', async () => {
    await ok(['apply', '-k', projectPath('manifests/overlays/admission-warn')]);
    const warned = await ok([...DEV, 'label', 'namespace', 'shop', `access.${D}/dragonfly=true`]);
    expect(warned.stderr).to.contain(
      `Warning: Validation failed for ValidatingAdmissionPolicy 'netpol-profiles-namespace-labels' with binding 'netpol-profiles-namespace-labels': label access.${D}/dragonfly may be added, changed or removed only by ${OWNERS}; change it in git`,
    );
    expect(labels()[`access.${D}/dragonfly`]).to.equal('true');
    expect(server.admission.audit.at(-1)).to.deep.include({ policy: 'netpol-profiles-namespace-labels', user: 'dev', operation: 'UPDATE', name: 'shop' });
    await ok(['apply', '-k', projectPath('manifests/admission')]);
    expect(await refused([...DEV, 'label', 'namespace', 'shop', `access.${D}/dragonfly-`])).to.contain(`label access.${D}/dragonfly may be added`);
    await ok([...GITOPS, 'label', 'namespace', 'shop', `access.${D}/dragonfly-`]);
    await expectConverged(server, 20_000);
  });

  it('deleting a namespace still removes its generated policies (the namespace controller is not refused)', async () => {
    await ok([...GITOPS, 'apply', '-f', '-'], SHOP.replace('name: shop', 'name: temporary'));
    await eventually(() => expect(server.get('cilium.io/v2', 'ciliumnetworkpolicies', 'temporary', 'profile-standard')).to.not.equal(undefined), 20_000, 'temporary profiled');
    await ok([...GITOPS, 'delete', 'namespace', 'temporary', '--wait=false']);
    await eventually(() => expect(server.get('v1', 'namespaces', undefined, 'temporary')).to.equal(undefined), 10_000, 'namespace temporary gone');
    expect(server.list('cilium.io/v2', 'ciliumnetworkpolicies', 'temporary')).to.deep.equal([]);
  });

  it('the operator, as its ServiceAccount, was never refused', () => {
    const mine = server.requests.query({ since: start, user: OPERATOR.name });
    expect(mine.filter((r) => r.verb !== 'watch' && r.verb !== 'list' && r.verb !== 'get').length).to.be.above(5);
    const refusedRequests = mine.filter((r) => r.code === 403 || r.code === 422).map((r) => `${r.code} ${r.verb} ${r.resource} ${r.namespace ?? ''}/${r.name ?? ''}`);
    expect(refusedRequests).to.deep.equal([]);
  });
});
