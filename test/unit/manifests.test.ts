// The install manifests as kustomize renders them: every kustomization builds; CRDs pass the
// apiextensions rules; Cilium objects validate against Cilium's v2 schemas and catalog objects
// against our CRDs; the Deployment meets the "restricted" Pod Security Standard; and the pieces
// that must agree (selectors, ports, probes, the image tag, the RBAC subjects) agree.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { crdDefinitionProblems } from '../support/apiserver/crd-rules.js';
import { formatSchemaError, validateSchema } from '../../src/kube/openapi.js';
import type { KubeObject } from '../../src/kube/types.js';
import { CEL_RULES } from '../support/cel.js';
import { catalogCrdSchemas, ciliumCrdSchemas, kustomize, projectPath } from '../support/project.js';

const KUSTOMIZATIONS = ['manifests', 'manifests/overlays/dry-run', 'manifests/catalog', 'manifests/prometheus', 'manifests/admission', 'manifests/overlays/admission-warn', 'examples/strict'];
const OPERATOR_NAMESPACE = 'netpol-profiles';

type Rec = Record<string, unknown>;
const rec = (value: unknown): Rec => (typeof value === 'object' && value !== null ? (value as Rec) : {});
const list = (value: unknown): Rec[] => (Array.isArray(value) ? (value as Rec[]) : []);

const PSS_VOLUME_TYPES = ['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'];

/**
 * The checks of the "restricted" Pod Security Standard (what the namespace's
 * pod-security.kubernetes.io/enforce=restricted label makes the API server enforce), plus a
 * read-only root filesystem, which we require on top.
 */
function restrictedPodProblems(podSpec: Rec): string[] {
  const problems: string[] = [];
  const podContext = rec(podSpec.securityContext);
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC']) if (podSpec[field] === true) problems.push(`${field} is true`);
  for (const volume of list(podSpec.volumes)) {
    const type = Object.keys(volume).find((key) => key !== 'name');
    if (!type || !PSS_VOLUME_TYPES.includes(type)) problems.push(`volume ${String(volume.name)} has type ${String(type)}`);
  }
  if (podContext.runAsUser === 0) problems.push('pod runAsUser is 0');
  const containers = [...list(podSpec.initContainers), ...list(podSpec.containers)];
  if (containers.length === 0) problems.push('no containers');
  for (const container of containers) {
    const name = `container ${String(container.name)}`;
    const context = rec(container.securityContext);
    const capabilities = rec(context.capabilities);
    if (context.privileged === true) problems.push(`${name} is privileged`);
    if (context.allowPrivilegeEscalation !== false) problems.push(`${name} does not set allowPrivilegeEscalation: false`);
    if (!(context.runAsNonRoot === true || (context.runAsNonRoot === undefined && podContext.runAsNonRoot === true))) problems.push(`${name} may run as root (runAsNonRoot)`);
    if (context.runAsUser === 0) problems.push(`${name} runAsUser is 0`);
    const seccomp = rec(context.seccompProfile).type ?? rec(podContext.seccompProfile).type;
    if (seccomp !== 'RuntimeDefault' && seccomp !== 'Localhost') problems.push(`${name} has no RuntimeDefault or Localhost seccomp profile`);
    if (!(Array.isArray(capabilities.drop) && capabilities.drop.includes('ALL'))) problems.push(`${name} does not drop ALL capabilities`);
    for (const added of Array.isArray(capabilities.add) ? (capabilities.add as string[]) : []) {
      if (added !== 'NET_BIND_SERVICE') problems.push(`${name} adds capability ${added}`);
    }
    for (const port of list(container.ports)) if (port.hostPort !== undefined) problems.push(`${name} uses hostPort ${String(port.hostPort)}`);
    if (context.readOnlyRootFilesystem !== true) problems.push(`${name} has a writable root filesystem`);
  }
  return problems;
}

function matches(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([key, value]) => labels[key] === value);
}

describe('install manifests (kustomize)', () => {
  const built = new Map(KUSTOMIZATIONS.map((dir) => [dir, kustomize(dir)]));
  const install = built.get('manifests')!;
  const find = (kind: string, objects = install) => {
    const found = objects.filter((o) => o.kind === kind);
    expect(found, kind).to.have.length(1);
    return found[0]!;
  };
  const deployment = find('Deployment');
  const podTemplate = rec(rec(deployment.spec).template);
  const podSpec = rec(podTemplate.spec);
  const podLabels = rec(rec(podTemplate.metadata).labels) as Record<string, string>;
  const container = list(podSpec.containers)[0]!;

  it('every kustomization builds, and the install is the CRDs plus manifests/base', () => {
    for (const [dir, objects] of built) expect(objects.length, dir).to.be.above(0);
    expect(install.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).to.deep.equal([
      'CiliumNetworkPolicy/netpol-profiles-operator',
      'ClusterRole/netpol-profiles',
      'ClusterRoleBinding/netpol-profiles',
      'CustomResourceDefinition/networkbaselines.network-policy.homelab',
      'CustomResourceDefinition/networkprofiles.network-policy.homelab',
      'CustomResourceDefinition/sharedservices.network-policy.homelab',
      'Deployment/netpol-profiles',
      'Namespace/netpol-profiles',
      'PodDisruptionBudget/netpol-profiles',
      'Role/netpol-profiles',
      'RoleBinding/netpol-profiles',
      'Service/netpol-profiles-metrics',
      'ServiceAccount/netpol-profiles',
    ]);
  });

  it('every namespaced object of the install lives in the operator namespace', () => {
    const cluster = ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'];
    for (const object of install.filter((o) => !cluster.includes(o.kind!))) {
      expect(object.metadata?.namespace, `${object.kind}/${object.metadata?.name}`).to.equal(OPERATOR_NAMESPACE);
    }
  });

  it('every CRD passes the apiextensions rules (structural schema, printer columns, subresources)', () => {
    const crds = [...built.values()].flat().filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds.length).to.be.at.least(6);
    for (const crd of crds) expect(crdDefinitionProblems(crd), crd.metadata?.name).to.deep.equal([]);
  });

  it("every Cilium object validates against Cilium's v2 schemas, every catalog object against our CRDs", () => {
    const { cnp, ccnp } = ciliumCrdSchemas();
    const catalog = catalogCrdSchemas();
    let checked = 0;
    for (const [dir, objects] of built) {
      for (const object of objects) {
        const schema = object.kind === 'CiliumNetworkPolicy' ? cnp : object.kind === 'CiliumClusterwideNetworkPolicy' ? ccnp : catalog.get(object.kind!);
        if (!schema) continue;
        checked++;
        expect(validateSchema(schema, object, { cel: CEL_RULES }).map(formatSchemaError), `${dir}: ${object.kind}/${object.metadata?.name}`).to.deep.equal([]);
      }
    }
    expect(checked).to.be.at.least(1 + 11 + 3);
  });

  it('the pod meets the restricted Pod Security Standard, which the namespace enforces', () => {
    expect(restrictedPodProblems(podSpec)).to.deep.equal([]);
    expect(find('Namespace').metadata?.labels).to.include({ 'pod-security.kubernetes.io/enforce': 'restricted' });
    // The check itself can fail.
    const loose = { ...podSpec, hostNetwork: true, containers: [{ ...container, securityContext: { capabilities: { add: ['NET_ADMIN'] } }, ports: [{ containerPort: 80, hostPort: 80 }] }] };
    const found = restrictedPodProblems(loose).join('\n');
    for (const expected of ['hostNetwork', 'allowPrivilegeEscalation', 'drop ALL', 'adds capability NET_ADMIN', 'hostPort 80', 'writable root filesystem']) {
      expect(found).to.contain(expected);
    }
    expect(restrictedPodProblems({ containers: [{ name: 'x', securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } } }] }).join('\n'))
      .to.contain('may run as root')
      .and.contain('seccomp');
  });

  it('the Deployment: 2 replicas, the image of this version, run with leader election, probes on /healthz and /readyz, resources', () => {
    const spec = rec(deployment.spec);
    expect(spec.replicas).to.equal(2);
    const version = (JSON.parse(readFileSync(projectPath('package.json'), 'utf8')) as { version: string }).version;
    expect(container.image).to.equal(`ghcr.io/netpol-profiles/netpol-profiles:${version}`);
    const args = container.args as string[];
    expect(args[0]).to.equal('run');
    expect(args.some((arg) => arg.startsWith('--leader-elect=false') || arg === '--dry-run')).to.equal(false);
    expect(list(container.env).map((e) => e.name)).to.include.members(['POD_NAME', 'POD_NAMESPACE']);
    const ports = Object.fromEntries(list(container.ports).map((p) => [p.name, p.containerPort]));
    expect(ports).to.deep.equal({ metrics: 8080, health: 8081 });
    expect(args).to.include.members(['--metrics-addr=:8080', '--health-addr=:8081']);
    expect(rec(rec(container.livenessProbe).httpGet)).to.include({ path: '/healthz', port: 'health' });
    expect(rec(rec(container.readinessProbe).httpGet)).to.include({ path: '/readyz', port: 'health' });
    const resources = rec(container.resources);
    expect(rec(resources.requests)).to.have.keys('cpu', 'memory');
    expect(rec(resources.limits)).to.have.property('memory');
    expect(rec(spec.selector).matchLabels).to.deep.equal(podLabels);
    expect(podSpec.serviceAccountName).to.equal('netpol-profiles');
    // SIGTERM handling takes up to 10 s; the kubelet must wait longer before SIGKILL.
    expect(podSpec.terminationGracePeriodSeconds).to.be.above(10);
  });

  it('the dry-run overlay differs from the install only by --dry-run', () => {
    const dry = built.get('manifests/overlays/dry-run')!;
    const dryDeployment = find('Deployment', dry);
    const dryArgs = list(rec(rec(rec(dryDeployment.spec).template).spec).containers)[0]!.args as string[];
    expect(dryArgs).to.deep.equal([...(container.args as string[]), '--dry-run']);
    const withoutDeployment = (objects: KubeObject[]) => objects.filter((o) => o.kind !== 'Deployment');
    expect(withoutDeployment(dry)).to.deep.equal(withoutDeployment(install));
  });

  it('the Service, the PodDisruptionBudget and the operator CNP select the operator pods, on the ports it listens on', () => {
    const service = find('Service');
    expect(matches(rec(service.spec).selector as Record<string, string>, podLabels)).to.equal(true);
    expect(list(rec(service.spec).ports).map((p) => [p.name, p.targetPort])).to.deep.equal([['metrics', 'metrics']]);
    const pdb = find('PodDisruptionBudget');
    expect(matches(rec(rec(pdb.spec).selector).matchLabels as Record<string, string>, podLabels)).to.equal(true);
    expect(rec(pdb.spec).maxUnavailable).to.equal(1);

    const policy = rec(find('CiliumNetworkPolicy').spec);
    expect(matches(rec(policy.endpointSelector).matchLabels as Record<string, string>, podLabels)).to.equal(true);
    const ports = (rules: Rec[]) => rules.flatMap((rule) => list(rule.toPorts).flatMap((p) => list(p.ports).map((port) => port.port)));
    expect(ports(list(policy.ingress)).sort()).to.deep.equal(['8080', '8081']);
    expect(list(policy.egress).flatMap((rule) => rule.toEntities as string[])).to.deep.equal(['kube-apiserver']);
  });

  it('the ServiceMonitor selects the metrics Service and its port, honouring the metrics\' own labels', () => {
    const monitor = find('ServiceMonitor', built.get('manifests/prometheus')!);
    const service = find('Service');
    expect(monitor.metadata?.namespace).to.equal(OPERATOR_NAMESPACE);
    expect(matches(rec(rec(monitor.spec).selector).matchLabels as Record<string, string>, service.metadata?.labels ?? {})).to.equal(true);
    const endpoint = list(rec(monitor.spec).endpoints)[0]!;
    expect(endpoint).to.include({ port: 'metrics', path: '/metrics', honorLabels: true });
  });

  it('RBAC: bound to the operator ServiceAccount only, with no wildcards, no Secrets and no privilege escalation verbs', () => {
    for (const binding of install.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding')) {
      expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name: 'netpol-profiles', namespace: OPERATOR_NAMESPACE }]);
      expect(rec(binding.roleRef).kind).to.equal(binding.kind === 'RoleBinding' ? 'Role' : 'ClusterRole');
    }
    const rules = install.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role').flatMap((role) => list(role.rules));
    expect(rules.length).to.be.above(4);
    for (const rule of rules) {
      const words = [...(rule.apiGroups as string[]), ...(rule.resources as string[]), ...(rule.verbs as string[])];
      expect(words).to.not.include('*');
      expect(rule.resources).to.not.include('secrets');
      for (const verb of ['escalate', 'bind', 'impersonate', 'deletecollection']) expect(rule.verbs).to.not.include(verb);
    }
  });

  describe('the admission guards (manifests/admission)', () => {
    const guards = built.get('manifests/admission')!;
    const policies = guards.filter((o) => o.kind === 'ValidatingAdmissionPolicy');
    const bindings = guards.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding');
    const params = find('ConfigMap', guards);

    it("the parameters' defaults are the identities SPEC names, in the operator namespace", () => {
      expect(params.metadata).to.include({ name: 'netpol-profiles-admission', namespace: OPERATOR_NAMESPACE });
      expect(params.data).to.deep.equal({
        labelDomain: 'network-policy.homelab',
        gitopsUsers: 'system:serviceaccount:argocd:argocd-application-controller,system:serviceaccount:flux-system:kustomize-controller',
        gitopsGroups: 'netpol-profiles:gitops',
        clusterAdminGroups: 'system:masters',
        breakGlassGroups: 'netpol-profiles:break-glass',
        operatorUsers: `system:serviceaccount:${OPERATOR_NAMESPACE}:netpol-profiles`,
      });
    });

    it('every policy fails closed, reads the parameters, and has one binding of its own name that refuses (Deny)', () => {
      expect(policies.map((p) => p.metadata?.name).sort()).to.deep.equal([
        'netpol-profiles-admission-parameters',
        'netpol-profiles-catalog',
        'netpol-profiles-generated-policies',
        'netpol-profiles-namespace-labels',
      ]);
      for (const policy of policies) {
        const name = policy.metadata!.name!;
        expect(rec(policy.spec).failurePolicy, name).to.equal('Fail');
        expect(rec(policy.spec).paramKind, name).to.deep.equal({ apiVersion: 'v1', kind: 'ConfigMap' });
        const own = bindings.filter((b) => rec(b.spec).policyName === name);
        expect(own.map((b) => b.metadata?.name), name).to.deep.equal([name]);
        const spec = rec(own[0]!.spec);
        expect(spec.validationActions, name).to.deep.equal(['Deny']);
        // A missing ConfigMap refuses everything, except recreating the ConfigMap itself.
        const notFound = name === 'netpol-profiles-admission-parameters' ? 'Allow' : 'Deny';
        expect(spec.paramRef, name).to.deep.equal({ name: params.metadata!.name, namespace: OPERATOR_NAMESPACE, parameterNotFoundAction: notFound });
      }
      expect(bindings).to.have.length(policies.length);
    });

    it('the Warn overlay differs only by the bindings\' actions (Warn and Audit instead of Deny)', () => {
      const warn = built.get('manifests/overlays/admission-warn')!;
      const asDeny = warn.map((o) => (o.kind === 'ValidatingAdmissionPolicyBinding' ? { ...o, spec: { ...rec(o.spec), validationActions: ['Deny'] } } : o));
      expect(asDeny).to.deep.equal(guards);
      for (const binding of warn.filter((o) => o.kind === 'ValidatingAdmissionPolicyBinding')) expect(rec(binding.spec).validationActions).to.deep.equal(['Warn', 'Audit']);
    });

    it('the guarded ConfigMap and the operator\'s own names agree with the install', () => {
      const guard = policies.find((p) => p.metadata?.name === 'netpol-profiles-admission-parameters')!;
      const rules = list(rec(rec(guard.spec).matchConstraints).resourceRules);
      expect(rules.flatMap((r) => r.resourceNames as string[])).to.deep.equal([params.metadata!.name]);
      const account = find('ServiceAccount');
      expect(rec(params.data).operatorUsers).to.equal(`system:serviceaccount:${account.metadata!.namespace}:${account.metadata!.name}`);
    });
  });
});
