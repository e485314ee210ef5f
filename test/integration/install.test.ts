// The install, end to end: `kubectl apply -k manifests/` and the admission guards
// (`manifests/admission/`) against the test API server with RBAC enforced, then the operator run
// as its ServiceAccount with the Deployment's own arguments and environment. The whole scenario
// must pass with zero 403s and zero admission refusals, and every grant of the installed
// ClusterRole and Role must have been used by it (least privilege, verified both ways). The
// dry-run overlay installs the same way and writes nothing but its Lease.
import { expect } from 'chai';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import { KUBECTL, kubectl, requireKubectl } from '../apiserver/support.js';
import { ciliumCrdFiles } from '../support/apiserver/crds.js';
import { serviceAccountUser } from '../support/apiserver/rbac.js';
import type { RequestRecord } from '../support/apiserver/requestlog.js';
import { TestApiServer } from '../support/apiserver/server.js';
import type { KubeObject } from '../support/apiserver/types.js';
import { D, eventsFor, eventually, expectConverged, namespace } from '../support/operator-harness.js';
import { CLI, EXAMPLE_NAMESPACES, projectPath } from '../support/project.js';

const OPERATOR_NAMESPACE = 'netpol-profiles';
const SERVICE_ACCOUNT = serviceAccountUser(OPERATOR_NAMESPACE, 'netpol-profiles');

interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** One verb on one resource that a role grants, where (a namespace, or every one) and for which names. */
interface Grant {
  role: string;
  namespace?: string;
  group: string;
  resource: string;
  verb: string;
  names?: string[];
}

function describeGrant(grant: Grant): string {
  const names = grant.names ? ` ${grant.names.join(',')}` : '';
  return `${grant.role}: ${grant.verb} ${grant.resource}${grant.group ? `.${grant.group}` : ''}${names}${grant.namespace ? ` in ${grant.namespace}` : ' (cluster-wide)'}`;
}

/** The grants the ServiceAccount holds through the installed bindings, expanded verb by verb. */
function installedGrants(server: TestApiServer): Grant[] {
  const grants: Grant[] = [];
  const subjectIsOperator = (binding: KubeObject) =>
    ((binding.subjects ?? []) as Array<{ kind: string; name: string; namespace?: string }>).some(
      (s) => s.kind === 'ServiceAccount' && s.name === 'netpol-profiles' && s.namespace === OPERATOR_NAMESPACE,
    );
  const expand = (role: string, rules: PolicyRule[], namespace?: string) => {
    for (const rule of rules) {
      for (const group of rule.apiGroups ?? []) {
        for (const resource of rule.resources ?? []) {
          for (const verb of rule.verbs ?? []) {
            grants.push({ role, group, resource, verb, ...(namespace ? { namespace } : {}), ...(rule.resourceNames ? { names: rule.resourceNames } : {}) });
          }
        }
      }
    }
  };
  for (const binding of server.list('rbac.authorization.k8s.io/v1', 'clusterrolebindings').filter(subjectIsOperator)) {
    const ref = binding.roleRef as { kind: string; name: string };
    const role = server.get('rbac.authorization.k8s.io/v1', 'clusterroles', undefined, ref.name)!;
    expand(`ClusterRole/${ref.name}`, role.rules as PolicyRule[]);
  }
  for (const binding of server.list('rbac.authorization.k8s.io/v1', 'rolebindings').filter(subjectIsOperator)) {
    const ref = binding.roleRef as { kind: string; name: string };
    const ns = binding.metadata!.namespace!;
    const role = ref.kind === 'Role' ? server.get('rbac.authorization.k8s.io/v1', 'roles', ns, ref.name)! : server.get('rbac.authorization.k8s.io/v1', 'clusterroles', undefined, ref.name)!;
    expand(`${ref.kind}/${ref.name}`, role.rules as PolicyRule[], ns);
  }
  return grants;
}

function usedBy(grant: Grant, record: RequestRecord): boolean {
  const resource = record.subresource ? `${record.resource}/${record.subresource}` : record.resource;
  return (
    // Authorised, whatever the answer: a 404 on a get still used the grant.
    record.code !== 401 &&
    record.code !== 403 &&
    record.verb === grant.verb &&
    record.group === grant.group &&
    resource === grant.resource &&
    (grant.namespace === undefined || record.namespace === grant.namespace) &&
    (grant.names === undefined || grant.names.includes(record.name ?? ''))
  );
}

interface OperatorProcess {
  child: ChildProcess;
  output: string[];
  exit: Promise<number | null>;
}

/**
 * Starts `netpol-profiles run` with the installed Deployment's container arguments and environment
 * (downward-API values filled in as the kubelet would), authenticated as the ServiceAccount. Only
 * the listen addresses are moved to free loopback ports, and the lease timings shortened so the
 * scenario renews it many times.
 */
function startFromDeployment(server: TestApiServer, podName: string): OperatorProcess {
  const deployment = server.get('apps/v1', 'deployments', OPERATOR_NAMESPACE, 'netpol-profiles')!;
  const pod = (deployment.spec as { template: { spec: { containers: Array<{ args: string[]; env: Array<{ name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }> }> } } }).template.spec;
  const container = pod.containers[0]!;
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const variable of container.env) {
    const field = variable.valueFrom?.fieldRef.fieldPath;
    env[variable.name] = field === 'metadata.name' ? podName : field === 'metadata.namespace' ? OPERATOR_NAMESPACE : (variable.value ?? '');
  }
  const kubeconfig = server.kubeconfigFor(SERVICE_ACCOUNT, OPERATOR_NAMESPACE);
  const args = [
    ...container.args,
    '--kubeconfig', kubeconfig,
    '--metrics-addr', '127.0.0.1:0',
    '--health-addr', '127.0.0.1:0',
    '--lease-duration', '3s',
    '--renew-deadline', '2s',
    '--retry-period', '250ms',
  ];
  const child = spawn(process.execPath, ['--max-semi-space-size=2', CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exit };
}

async function kubectlOk(server: TestApiServer, args: string[]): Promise<string> {
  const result = await kubectl(server, args);
  expect(result.code, `kubectl ${args.join(' ')}: ${result.stderr}`).to.equal(0);
  return result.stdout;
}

/** The objects `kubectl kustomize manifests/` renders. */
function installedObjects(): KubeObject[] {
  const rendered = execFileSync(KUBECTL, ['kustomize', projectPath('manifests')], { encoding: 'utf8' });
  return parseAllDocuments(rendered).map((doc) => doc.toJS() as KubeObject);
}

function policy(server: TestApiServer, ns: string, name: string): KubeObject | undefined {
  return server.get('cilium.io/v2', 'ciliumnetworkpolicies', ns, name);
}

describe('install (integration): kubectl apply -k manifests/, the operator under its own least-privilege RBAC', function () {
  this.timeout(120_000);
  let server: TestApiServer;
  let operator: OperatorProcess | undefined;
  let start: number;

  before(async () => {
    requireKubectl();
    // Only Cilium's CRDs: the project's come with the install.
    server = await TestApiServer.start({ rbac: true, crdFiles: ciliumCrdFiles(), bookmarkIntervalMs: 200 });
    start = server.requests.mark();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && operator) console.log(operator.output.join('').split('\n').slice(-40).join('\n'));
  });
  after(async () => {
    if (operator && operator.child.exitCode === null) operator.child.kill('SIGKILL');
    await operator?.exit;
    await server.stop();
  });

  it('kubectl apply -k manifests/ creates the whole install, CRDs included, and a second apply changes nothing', async () => {
    const first = await kubectlOk(server, ['apply', '-k', projectPath('manifests')]);
    for (const line of [
      'namespace/netpol-profiles created',
      'customresourcedefinition.apiextensions.k8s.io/networkprofiles.network-policy.homelab created',
      'customresourcedefinition.apiextensions.k8s.io/sharedservices.network-policy.homelab created',
      'customresourcedefinition.apiextensions.k8s.io/networkbaselines.network-policy.homelab created',
      'serviceaccount/netpol-profiles created',
      'role.rbac.authorization.k8s.io/netpol-profiles created',
      'clusterrole.rbac.authorization.k8s.io/netpol-profiles created',
      'rolebinding.rbac.authorization.k8s.io/netpol-profiles created',
      'clusterrolebinding.rbac.authorization.k8s.io/netpol-profiles created',
      'service/netpol-profiles-metrics created',
      'deployment.apps/netpol-profiles created',
      'poddisruptionbudget.policy/netpol-profiles created',
      'ciliumnetworkpolicy.cilium.io/netpol-profiles-operator created',
    ]) {
      expect(first).to.contain(line);
    }
    // Idempotent: nothing stored changes. (kubectl still says "configured" for the
    // PodDisruptionBudget, as against a real server: its selector's patch strategy is "replace",
    // so kubectl always sends it, and the API server finds nothing to change.)
    const versions = () => installedObjects().map((o) => `${o.kind}/${o.metadata?.name}@${server.get(o.apiVersion!, o.kind!, o.metadata?.namespace, o.metadata!.name!)?.metadata?.resourceVersion}`);
    const before = versions();
    const second = await kubectlOk(server, ['apply', '-k', projectPath('manifests')]);
    expect(second).to.contain('deployment.apps/netpol-profiles unchanged');
    expect(versions()).to.deep.equal(before);
    await kubectlOk(server, ['apply', '-k', projectPath('manifests/catalog')]);
    expect(await kubectlOk(server, ['get', 'networkprofiles', '-o', 'name'])).to.contain('networkprofile.network-policy.homelab/standard');
  });

  it('kubectl apply -k manifests/admission/ installs the guards (parameters, four policies and their bindings), idempotently', async () => {
    const first = await kubectlOk(server, ['apply', '-k', projectPath('manifests/admission')]);
    const names = ['netpol-profiles-admission-parameters', 'netpol-profiles-catalog', 'netpol-profiles-generated-policies', 'netpol-profiles-namespace-labels'];
    expect(first).to.contain('configmap/netpol-profiles-admission created');
    for (const name of names) {
      expect(first).to.contain(`validatingadmissionpolicy.admissionregistration.k8s.io/${name} created`);
      expect(first).to.contain(`validatingadmissionpolicybinding.admissionregistration.k8s.io/${name} created`);
    }
    const second = await kubectlOk(server, ['apply', '-k', projectPath('manifests/admission')]);
    expect(second.trim().split('\n').every((line) => line.endsWith(' unchanged')), second).to.equal(true);
  });

  it('the ServiceAccount can do what the operator needs and nothing broader (kubectl auth can-i)', async () => {
    const asOperator = server.kubeconfigFor(SERVICE_ACCOUNT, OPERATOR_NAMESPACE);
    const can = async (...args: string[]) => (await kubectl(server, ['auth', 'can-i', ...args], undefined, asOperator)).stdout.trim();
    expect(await can('create', 'ciliumnetworkpolicies.cilium.io', '-n', 'shop')).to.equal('yes');
    expect(await can('update', 'leases.coordination.k8s.io/netpol-profiles', '-n', OPERATOR_NAMESPACE)).to.equal('yes');
    expect(await can('update', 'leases.coordination.k8s.io/other', '-n', OPERATOR_NAMESPACE)).to.equal('no');
    expect(await can('update', 'configmaps/other', '-n', OPERATOR_NAMESPACE)).to.equal('no');
    expect(await can('list', 'configmaps', '-n', 'default')).to.equal('no');
    expect(await can('list', 'secrets', '-n', OPERATOR_NAMESPACE)).to.equal('no');
    expect(await can('delete', 'namespaces')).to.equal('no');
    expect(await can('update', 'networkprofiles.network-policy.homelab')).to.equal('no');
    expect(await can('delete', 'networkprofiles.network-policy.homelab')).to.equal('no');
  });

  it("the operator, run as its ServiceAccount with the Deployment's arguments, converges the example namespaces", async () => {
    // Someone else's CNP holds a name the operator will want: NameConflict, never overwritten.
    await kubectlOk(server, ['create', 'namespace', 'grafana']);
    server.apply({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'access-postgres', namespace: 'grafana' },
      spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] },
    });
    server.apply({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideNetworkPolicy',
      metadata: { name: 'baseline-extra' },
      spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] },
    });
    server.apply({ apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'extra' }, spec: { endpointSelector: {}, egress: [{ toEntities: ['cluster'] }] } });
    operator = startFromDeployment(server, 'netpol-profiles-7d9f8-abcde');
    await kubectlOk(server, ['apply', '-f', EXAMPLE_NAMESPACES]);
    await eventually(() => expect(eventsFor(server, 'shop').map((e) => e.reason)).to.include('PoliciesApplied'), 20_000, 'shop applied');
    await eventually(() => {
      expect(policy(server, 'shop', 'profile-standard')).to.not.equal(undefined);
      expect(eventsFor(server, 'grafana').map((e) => e.reason)).to.include('NameConflict');
    }, 20_000, 'examples applied');
    // The conflicting object stays someone else's; everything else is what render says.
    expect(policy(server, 'grafana', 'access-postgres')!.spec).to.deep.equal({ endpointSelector: {}, egress: [{ toEntities: ['world'] }] });
    expect(server.get('cilium.io/v2', 'ciliumclusterwidenetworkpolicies', undefined, 'baseline-extra')!.spec).to.deep.equal({ endpointSelector: {}, egress: [{ toEntities: ['world'] }] });
    server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'grafana', 'access-postgres');
    server.delete('cilium.io/v2', 'ciliumclusterwidenetworkpolicies', undefined, 'baseline-extra');
    // The operator rechecks a conflict every minute; a change to the source makes it immediate.
    await kubectlOk(server, ['annotate', 'namespace', 'grafana', 'team=dashboards']);
    const extra = server.get(`${D}/v1alpha1`, 'networkbaselines', undefined, 'extra')!;
    server.apply({ ...extra, spec: { ...(extra.spec as object), description: 'conflict resolved' } });
    await expectConverged(server, 20_000);
    expect(eventsFor(server, 'blog').map((e) => e.reason)).to.include('UnknownProfile');
    const record = server.get('v1', 'configmaps', OPERATOR_NAMESPACE, 'netpol-profiles-state');
    expect(Object.keys((record?.data ?? {}) as object)).to.deep.equal(['disabled-since.legacy-crm']);
    const lease = server.get('coordination.k8s.io/v1', 'leases', OPERATOR_NAMESPACE, 'netpol-profiles');
    expect((lease?.spec as { holderIdentity?: string }).holderIdentity).to.equal('netpol-profiles-7d9f8-abcde');
  });

  it('repairs drift and follows label and catalog changes', async () => {
    // Drift: an edited and a deleted generated policy come back.
    const edited = policy(server, 'shop', 'profile-standard')!;
    server.apply({ ...edited, spec: { endpointSelector: {}, ingress: [{ fromEntities: ['world'] }] } });
    server.delete('cilium.io/v2', 'ciliumnetworkpolicies', 'shop', 'access-postgres');
    await expectConverged(server, 20_000);

    // Labels: a profile change (make-before-break), an access removed (pruned), the hatch closed.
    await kubectlOk(server, ['label', 'namespace', 'shop', `${D}/profile=internal`, '--overwrite']);
    await kubectlOk(server, ['label', 'namespace', 'grafana', `access.${D}/postgres-`]);
    await kubectlOk(server, ['label', 'namespace', 'legacy-crm', `${D}/enforcement-`]);
    await expectConverged(server, 20_000);
    await eventually(() => expect(server.get('v1', 'configmaps', OPERATOR_NAMESPACE, 'netpol-profiles-state')?.data ?? {}).to.deep.equal({}), 20_000, 'hatch record cleared');

    // Catalog: a baseline edited and another deleted; a profile in use is held by its finalizer
    // until no namespace uses it, then goes.
    const dns = server.get(`${D}/v1alpha1`, 'networkbaselines', undefined, 'dns')!;
    server.apply({ ...dns, spec: { ...(dns.spec as object), description: 'DNS, edited' } });
    const probes = server.get(`${D}/v1alpha1`, 'networkbaselines', undefined, 'health-probes')!;
    server.apply({ ...probes, spec: { ...(probes.spec as object), ingress: [{ fromEntities: ['health'] }] } });
    await kubectlOk(server, ['delete', 'networkbaseline', 'prometheus-scrape']);
    await expectConverged(server, 20_000);
    const deletion = kubectl(server, ['delete', 'networkprofile', 'isolated', '--wait=false']);
    expect((await deletion).code).to.equal(0);
    await eventually(() => expect(server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'isolated')?.metadata?.deletionTimestamp).to.be.a('string'), 10_000);
    await kubectlOk(server, ['label', 'namespace', 'reports', `${D}/profile=internal`, '--overwrite']);
    await eventually(() => expect(server.get(`${D}/v1alpha1`, 'networkprofiles', undefined, 'isolated')).to.equal(undefined), 20_000, 'isolated deleted');
    await expectConverged(server, 20_000);

    // A namespace whose label appears later, on a running operator.
    server.apply(namespace('late', { [`${D}/profile`]: 'standard', [`${D}/enforcement`]: 'disabled' }));
    await expectConverged(server, 20_000);
    await eventually(() => expect(Object.keys((server.get('v1', 'configmaps', OPERATOR_NAMESPACE, 'netpol-profiles-state')?.data ?? {}) as object)).to.deep.equal(['disabled-since.late']), 20_000);
  });

  it('SIGTERM releases the lease and the process exits 0', async () => {
    operator!.child.kill('SIGTERM');
    expect(await operator!.exit).to.equal(0);
    const lease = server.get('coordination.k8s.io/v1', 'leases', OPERATOR_NAMESPACE, 'netpol-profiles');
    expect((lease?.spec as { holderIdentity?: string }).holderIdentity ?? '').to.equal('');
  });

  it('no request of the operator was refused: zero 403s from RBAC, zero refusals from the admission guards', () => {
    const mine = server.requests.query({ since: start, user: SERVICE_ACCOUNT.name });
    expect(mine.length).to.be.above(50);
    const refused = mine
      .filter((r) => r.code === 403 || r.code === 422)
      .map((r) => `${r.code} ${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.namespace ?? ''}/${r.name ?? ''}`);
    expect(refused, `refused requests:\n${refused.join('\n')}`).to.deep.equal([]);
    // The guards were in force all along: someone else changing a generated policy is refused.
    const generated = policy(server, 'shop', 'profile-internal')!;
    const rt = server.catalog.lookup('cilium.io', 'v2', 'ciliumnetworkpolicies')!;
    expect(() =>
      server.admission.validate({ operation: 'DELETE', user: { name: 'dev', groups: ['system:authenticated'] }, rt, namespace: 'shop', name: 'profile-internal', object: null, oldObject: generated, dryRun: false }),
    ).to.throw(/ValidatingAdmissionPolicy 'netpol-profiles-generated-policies' with binding 'netpol-profiles-generated-policies' denied request/);
  });

  it('every grant of the installed ClusterRole and Role was used during the scenario', () => {
    const grants = installedGrants(server);
    expect(grants.length).to.be.above(10);
    const mine = server.requests.query({ since: start, user: SERVICE_ACCOUNT.name });
    const unused = grants.filter((grant) => !mine.some((record) => usedBy(grant, record))).map(describeGrant);
    expect(unused, `grants the operator never used (remove them from manifests/base):\n  ${unused.join('\n  ')}`).to.deep.equal([]);
  });
});

describe('install (integration): the dry-run overlay', function () {
  this.timeout(60_000);
  let server: TestApiServer;
  let operator: OperatorProcess | undefined;

  before(async () => {
    requireKubectl();
    server = await TestApiServer.start({ rbac: true, crdFiles: ciliumCrdFiles(), bookmarkIntervalMs: 200 });
  });
  after(async () => {
    if (operator && operator.child.exitCode === null) operator.child.kill('SIGKILL');
    await operator?.exit;
    await server.stop();
  });

  it('installs with --dry-run, logs what it would do and writes nothing but its Lease', async () => {
    await kubectlOk(server, ['apply', '-k', projectPath('manifests/overlays/dry-run')]);
    await kubectlOk(server, ['apply', '-k', projectPath('manifests/catalog')]);
    await kubectlOk(server, ['apply', '-f', EXAMPLE_NAMESPACES]);
    const mark = server.requests.mark();
    operator = startFromDeployment(server, 'netpol-profiles-dry-run');
    await eventually(() => expect(operator!.output.join('')).to.contain('"dry-run: would create"'), 20_000, 'dry-run log');
    await eventually(() => expect(operator!.output.join('')).to.contain('profile-standard'), 20_000);
    operator.child.kill('SIGTERM');
    expect(await operator.exit).to.equal(0);
    const writes = server.requests.writes({ since: mark, user: SERVICE_ACCOUNT.name });
    expect(writes.length).to.be.above(0);
    expect([...new Set(writes.map((w) => w.resource))]).to.deep.equal(['leases']);
    expect(server.list('cilium.io/v2', 'ciliumnetworkpolicies', 'shop')).to.deep.equal([]);
    expect(server.requests.query({ since: mark, user: SERVICE_ACCOUNT.name, code: 403 })).to.deep.equal([]);
  });
});

