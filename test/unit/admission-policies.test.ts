// Every CEL expression of manifests/admission/, evaluated by the same CEL library and
// ValidatingAdmissionPolicy evaluator the test API server uses, as tables of request →
// allowed/denied (no HTTP: the policies as kustomize renders them, admission called directly).
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { parseAllDocuments } from 'yaml';
import type { AdmissionAttributes, AdmissionOperation } from '../support/apiserver/admission.js';
import { serviceAccountUser } from '../support/apiserver/rbac.js';
import type { UserInfo } from '../support/apiserver/requestlog.js';
import { ApiError } from '../support/apiserver/errors.js';
import { NAMESPACE_CONTROLLER } from '../support/apiserver/registry.js';
import { TestApiServer } from '../support/apiserver/server.js';
import type { KubeObject } from '../support/apiserver/types.js';
import { projectPath } from '../support/project.js';

const D = 'network-policy.homelab';
const MANAGED = { 'app.kubernetes.io/managed-by': 'netpol-profiles' };

const DEV: UserInfo = { name: 'dev', groups: ['developers', 'system:authenticated'] };
const ARGO = serviceAccountUser('argocd', 'argocd-application-controller');
const FLUX = serviceAccountUser('flux-system', 'kustomize-controller');
const CI: UserInfo = { name: 'ci-bot', groups: ['netpol-profiles:gitops', 'system:authenticated'] };
const ADMIN: UserInfo = { name: 'root', groups: ['system:masters', 'system:authenticated'] };
const ONCALL: UserInfo = { name: 'oncall', groups: ['netpol-profiles:break-glass', 'system:authenticated'] };
const OPERATOR = serviceAccountUser('netpol-profiles', 'netpol-profiles');
const OTHER_SA = serviceAccountUser('shop', 'deployer');

function installed(): KubeObject[] {
  const out = execFileSync('/usr/bin/kubectl', ['kustomize', projectPath('manifests/admission')], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => doc.toJS() as KubeObject);
}

describe('admission policies (manifests/admission): each expression, request by request', () => {
  let server: TestApiServer;
  let params: KubeObject;

  before(async () => {
    server = await TestApiServer.start();
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'netpol-profiles' } });
    server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    for (const obj of installed()) server.apply(obj);
    const stored = server.get('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-admission')!;
    // What the tests write back: the manifest's ConfigMap, without the server's uid.
    params = { ...stored, metadata: { name: stored.metadata.name!, namespace: stored.metadata.namespace!, labels: stored.metadata.labels! } };
  });
  after(async () => server.stop());
  afterEach(() => server.apply(params));

  /** 'allowed', or the denial message after "denied request: " (or the whole message of another failure). */
  function admit(user: UserInfo, operation: AdmissionOperation, resource: string, object: KubeObject | null, oldObject: KubeObject | null = null, subresource?: string): string {
    const [group, version, plural] = resource.split('/') as [string, string, string];
    const rt = server.catalog.lookup(group, version, plural)!;
    const meta = (object ?? oldObject)!.metadata;
    const attrs: AdmissionAttributes = {
      operation,
      user,
      rt,
      name: meta.name!,
      object,
      oldObject,
      dryRun: false,
      ...(meta.namespace ? { namespace: meta.namespace } : {}),
      ...(subresource ? { subresource } : {}),
    };
    try {
      server.admission.validate(attrs);
      return 'allowed';
    } catch (e) {
      if (!(e instanceof ApiError)) throw e;
      expect(e.code, e.message).to.equal(422);
      return e.message.replace(/^.* denied request: /, '');
    }
  }

  describe('netpol-profiles-namespace-labels', () => {
    const NS = '/v1/namespaces';
    const ns = (labels: Record<string, string> = {}, name = 'shop'): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    const labelled = ns({ [`${D}/profile`]: 'standard', [`access.${D}/postgres`]: 'true', team: 'a' });
    const update = (user: UserInfo, labels: Record<string, string>, from: KubeObject = labelled) => admit(user, 'UPDATE', NS, ns(labels), from);
    const same = labelled.metadata.labels!;
    const owners =
      'GitOps (users system:serviceaccount:argocd:argocd-application-controller, system:serviceaccount:flux-system:kustomize-controller; groups netpol-profiles:gitops) or cluster admins (groups system:masters)';

    it('developers: anything but our labels; ours are refused, naming the label and who may change it', () => {
      const table: [string, string][] = [
        [admit(DEV, 'CREATE', NS, ns({ team: 'a' })), 'allowed'],
        [admit(DEV, 'CREATE', NS, ns()), 'allowed'],
        [update(DEV, { ...same, team: 'b', owner: 'me' }), 'allowed'],
        [update(DEV, { ...same, [`${D}/other`]: 'x', [`access.${D}.evil/x`]: 'true', [`${D}.evil/profile`]: 'x' }), 'allowed'],
        [update(DEV, same), 'allowed'],
        [admit(DEV, 'CREATE', NS, ns({ [`${D}/profile`]: 'standard' })), `label ${D}/profile may be added, changed or removed only by ${owners}; change it in git`],
        [update(DEV, { ...same, [`access.${D}/dragonfly`]: 'true' }), `label access.${D}/dragonfly may be added, changed or removed only by ${owners}; change it in git`],
        [update(DEV, { ...same, [`access.${D}/postgres`]: 'false' }), `label access.${D}/postgres may be added, changed or removed only by ${owners}; change it in git`],
        [update(DEV, { ...same, [`${D}/profile`]: 'internal' }), `label ${D}/profile may be added, changed or removed only by ${owners}; change it in git`],
        [update(DEV, { team: 'a' }), `labels ${D}/profile, access.${D}/postgres may be added, changed or removed only by ${owners}; change it in git`],
        [update(DEV, { ...same, [`${D}/platform`]: 'true' }), `label ${D}/platform may be added, changed or removed only by ${owners}; change it in git`],
        [
          update(DEV, { ...same, [`${D}/enforcement`]: 'disabled' }),
          `label ${D}/enforcement (the escape hatch) may be set or removed only by the break-glass groups (netpol-profiles:break-glass), ${owners}`,
        ],
        [update(OTHER_SA, { ...same, [`${D}/enforcement`]: 'enabled' }), `label ${D}/enforcement (the escape hatch) may be set or removed only by the break-glass groups (netpol-profiles:break-glass), ${owners}`],
      ];
      for (const [actual, expected] of table) expect(actual).to.equal(expected);
    });

    it('GitOps (either ServiceAccount or the group) and cluster admins may change every one of our labels', () => {
      for (const user of [ARGO, FLUX, CI, ADMIN]) {
        expect(admit(user, 'CREATE', NS, ns({ [`${D}/profile`]: 'standard', [`${D}/platform`]: 'true' })), user.name).to.equal('allowed');
        expect(update(user, { [`${D}/profile`]: 'internal', [`access.${D}/garage-s3`]: 'true', [`${D}/enforcement`]: 'disabled' }), user.name).to.equal('allowed');
        expect(update(user, {}), user.name).to.equal('allowed');
      }
    });

    it('the break-glass group may set and remove the escape hatch, and nothing else of ours', () => {
      const open = ns({ ...same, [`${D}/enforcement`]: 'disabled' });
      expect(update(ONCALL, { ...same, [`${D}/enforcement`]: 'disabled' })).to.equal('allowed');
      expect(update(ONCALL, same, open)).to.equal('allowed');
      expect(update(ONCALL, { ...same, [`${D}/enforcement`]: 'enabled' }, open)).to.equal('allowed');
      expect(update(ONCALL, { ...same, team: 'oncall-was-here' }, open)).to.equal('allowed');
      expect(update(ONCALL, { ...same, [`${D}/enforcement`]: 'disabled', [`${D}/profile`]: 'internal' })).to.equal(
        `label ${D}/profile may be added, changed or removed only by ${owners}; change it in git`,
      );
      expect(admit(ONCALL, 'CREATE', NS, ns({ [`${D}/enforcement`]: 'disabled' }))).to.equal('allowed');
    });

    it('does not guard deletion, the status subresource or other resources', () => {
      expect(admit(DEV, 'DELETE', NS, null, labelled)).to.equal('allowed');
      expect(admit(DEV, 'UPDATE', NS, ns({}), labelled, 'status')).to.equal('allowed');
      expect(admit(DEV, 'CREATE', '/v1/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'shop', labels: { [`${D}/profile`]: 'x' } } })).to.equal('allowed');
    });

    it('follows the parameters: the label domain, identities with spaces, and fails closed without them', () => {
      server.apply({ ...params, data: { ...(params.data as object), labelDomain: 'netpol.example.com', gitopsUsers: ' dev , someone-else' } });
      expect(update(DEV, { ...same, [`${D}/profile`]: 'internal', 'netpol.example.com/profile': 'standard' })).to.equal('allowed');
      expect(update(OTHER_SA, { ...same, 'netpol.example.com/profile': 'standard' })).to.match(/^label netpol.example.com\/profile may be added, changed or removed only by GitOps \(users dev, someone-else;/);
      server.delete('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-admission');
      expect(update(ADMIN, { ...same, team: 'x' })).to.equal('failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction');
      expect(admit(DEV, 'DELETE', NS, null, labelled)).to.equal('allowed');
      const { labelDomain: _dropped, ...withoutDomain } = params.data as Record<string, string>;
      server.apply({ ...params, data: withoutDomain });
      expect(update(DEV, { ...same, team: 'x' })).to.match(/^expression '.*' resulted in error: no such key: labelDomain$/i);
    });
  });

  describe('netpol-profiles-generated-policies', () => {
    const CNP = 'cilium.io/v2/ciliumnetworkpolicies';
    const CCNP = 'cilium.io/v2/ciliumclusterwidenetworkpolicies';
    const cnp = (name: string, labels: Record<string, string> = {}, namespace = 'shop'): KubeObject => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name, namespace, labels },
      spec: { endpointSelector: {}, ingress: [{}] },
    });
    const ccnp = (name: string, labels: Record<string, string> = {}): KubeObject => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name, labels }, spec: { endpointSelector: {} } });
    const generated = cnp('access-postgres', { ...MANAGED, [`${D}/generated-from`]: 'access.postgres' });
    const op = 'only the operator (system:serviceaccount:netpol-profiles:netpol-profiles)';

    it('developers: their own policies yes; generated names, the managed-by label and generated objects no', () => {
      const table: [string, string][] = [
        [admit(DEV, 'CREATE', CNP, cnp('allow-frontend')), 'allowed'],
        [admit(DEV, 'CREATE', CNP, cnp('baseline-mine')), 'allowed'],
        [admit(DEV, 'CREATE', CCNP, ccnp('profile-x')), 'allowed'],
        [admit(DEV, 'UPDATE', CNP, cnp('allow-frontend', { team: 'a' }), cnp('allow-frontend')), 'allowed'],
        [admit(DEV, 'DELETE', CNP, null, cnp('allow-frontend')), 'allowed'],
        // A policy that held a generated name before the guards were installed stays its owner's.
        [admit(DEV, 'UPDATE', CNP, cnp('access-postgres', { team: 'a' }), cnp('access-postgres')), 'allowed'],
        [admit(DEV, 'CREATE', CNP, cnp('profile-standard')), 'the name profile-standard is reserved for the CiliumNetworkPolicys netpol-profiles generates (profile-*, access-*): choose another name'],
        [admit(DEV, 'CREATE', CNP, cnp('access-postgres-ingress')), 'the name access-postgres-ingress is reserved for the CiliumNetworkPolicys netpol-profiles generates (profile-*, access-*): choose another name'],
        [admit(DEV, 'CREATE', CCNP, ccnp('baseline-dns')), 'the name baseline-dns is reserved for the CiliumClusterwideNetworkPolicys netpol-profiles generates (baseline-*, escape-hatch-allow-all): choose another name'],
        [admit(DEV, 'CREATE', CCNP, ccnp('escape-hatch-allow-all')), 'the name escape-hatch-allow-all is reserved for the CiliumClusterwideNetworkPolicys netpol-profiles generates (baseline-*, escape-hatch-allow-all): choose another name'],
        [admit(DEV, 'CREATE', CNP, cnp('sneaky', MANAGED)), `${op} may create or label a CiliumNetworkPolicy app.kubernetes.io/managed-by=netpol-profiles`],
        [admit(DEV, 'UPDATE', CNP, cnp('allow-frontend', MANAGED), cnp('allow-frontend')), `${op} may create or label a CiliumNetworkPolicy app.kubernetes.io/managed-by=netpol-profiles`],
        [
          admit(DEV, 'UPDATE', CNP, { ...generated, spec: { endpointSelector: {}, egress: [{ toEntities: ['world'] }] } }, generated),
          `CiliumNetworkPolicy access-postgres is generated by netpol-profiles (app.kubernetes.io/managed-by=netpol-profiles): ${op} may change or delete it; change the namespace labels or the catalog in git instead`,
        ],
        [
          admit(DEV, 'UPDATE', CNP, cnp('access-postgres'), generated),
          `CiliumNetworkPolicy access-postgres is generated by netpol-profiles (app.kubernetes.io/managed-by=netpol-profiles): ${op} may change or delete it; change the namespace labels or the catalog in git instead`,
        ],
        [
          admit(DEV, 'DELETE', CNP, null, generated),
          `CiliumNetworkPolicy access-postgres is generated by netpol-profiles (app.kubernetes.io/managed-by=netpol-profiles): ${op} may change or delete it; change the namespace labels or the catalog in git instead`,
        ],
        [
          admit(ONCALL, 'DELETE', CCNP, null, ccnp('escape-hatch-allow-all', MANAGED)),
          `CiliumClusterwideNetworkPolicy escape-hatch-allow-all is generated by netpol-profiles (app.kubernetes.io/managed-by=netpol-profiles): ${op} may change or delete it; change the namespace labels or the catalog in git instead`,
        ],
        [admit(ARGO, 'CREATE', CNP, cnp('profile-standard')), 'the name profile-standard is reserved for the CiliumNetworkPolicys netpol-profiles generates (profile-*, access-*): choose another name'],
      ];
      for (const [actual, expected] of table) expect(actual).to.equal(expected);
    });

    it('the operator and cluster admins (the break glass) may do all of it; status writes are not guarded', () => {
      for (const user of [OPERATOR, ADMIN]) {
        expect(admit(user, 'CREATE', CNP, generated), user.name).to.equal('allowed');
        expect(admit(user, 'CREATE', CCNP, ccnp('baseline-dns', MANAGED)), user.name).to.equal('allowed');
        expect(admit(user, 'UPDATE', CNP, { ...generated, spec: { endpointSelector: { matchLabels: { a: 'b' } } } }, generated), user.name).to.equal('allowed');
        expect(admit(user, 'DELETE', CNP, null, generated), user.name).to.equal('allowed');
      }
      expect(admit(DEV, 'UPDATE', CNP, { ...generated, status: { ok: true } }, generated, 'status')).to.equal('allowed');
    });

    it("lets anyone delete the content of a Terminating namespace (the namespace controller's job)", () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'going' } });
      server.apply({ ...cnp('access-postgres', MANAGED, 'going') });
      server.delete('v1', 'namespaces', undefined, 'going');
      expect(server.get('v1', 'namespaces', undefined, 'going')?.metadata.deletionTimestamp, 'terminating').to.be.a('string');
      expect(admit(NAMESPACE_CONTROLLER, 'DELETE', CNP, null, cnp('access-postgres', MANAGED, 'going'))).to.equal('allowed');
      expect(admit(NAMESPACE_CONTROLLER, 'DELETE', CNP, null, generated)).to.match(/^CiliumNetworkPolicy access-postgres is generated by netpol-profiles/);
    });
  });

  describe('netpol-profiles-catalog', () => {
    const PROFILES = `${D}/v1alpha1/networkprofiles`;
    const profile = (spec: Record<string, unknown>, extra: Partial<KubeObject['metadata']> = {}): KubeObject => ({
      apiVersion: `${D}/v1alpha1`,
      kind: 'NetworkProfile',
      metadata: { name: 'standard', ...extra },
      spec,
    });
    const current = profile({ egress: [{ toEntities: ['world'] }] });
    const denied = 'NetworkProfile standard is part of the network-policy catalog: only GitOps (users system:serviceaccount:argocd:argocd-application-controller, system:serviceaccount:flux-system:kustomize-controller; groups netpol-profiles:gitops) or cluster admins (groups system:masters) may create, change or delete it; change it in git';

    it('GitOps and cluster admins may create, change and delete it; nobody else', () => {
      for (const user of [ARGO, FLUX, CI, ADMIN]) {
        expect(admit(user, 'CREATE', PROFILES, current), user.name).to.equal('allowed');
        expect(admit(user, 'UPDATE', PROFILES, profile({}), current), user.name).to.equal('allowed');
        expect(admit(user, 'DELETE', PROFILES, null, current), user.name).to.equal('allowed');
      }
      for (const user of [DEV, ONCALL, OTHER_SA]) {
        expect(admit(user, 'CREATE', PROFILES, current), user.name).to.equal(denied);
        expect(admit(user, 'UPDATE', PROFILES, profile({}), current), user.name).to.equal(denied);
        expect(admit(user, 'DELETE', PROFILES, null, current), user.name).to.equal(denied);
      }
      expect(admit(DEV, 'UPDATE', PROFILES, { ...current, status: { namespaceCount: 1 } }, current, 'status')).to.equal('allowed');
    });

    it('the operator may change its finalizers and nothing else', () => {
      const withFinalizer = profile(current.spec as Record<string, unknown>, { finalizers: [`${D}/in-use`] });
      expect(admit(OPERATOR, 'UPDATE', PROFILES, withFinalizer, current)).to.equal('allowed');
      expect(admit(OPERATOR, 'UPDATE', PROFILES, current, withFinalizer)).to.equal('allowed');
      expect(admit(OPERATOR, 'UPDATE', PROFILES, profile({}, { finalizers: [`${D}/in-use`] }), current)).to.equal(denied);
      expect(admit(OPERATOR, 'UPDATE', PROFILES, profile(current.spec as Record<string, unknown>, { labels: { a: 'b' } }), current)).to.equal(denied);
      expect(admit(OPERATOR, 'UPDATE', PROFILES, profile(current.spec as Record<string, unknown>, { annotations: { a: 'b' } }), current)).to.equal(denied);
      expect(admit(OPERATOR, 'CREATE', PROFILES, current)).to.equal(denied);
      expect(admit(OPERATOR, 'DELETE', PROFILES, null, current)).to.equal(denied);
      const baseline: KubeObject = { apiVersion: `${D}/v1alpha1`, kind: 'NetworkBaseline', metadata: { name: 'dns' }, spec: { endpointSelector: {} } };
      expect(admit(DEV, 'CREATE', `${D}/v1alpha1/networkbaselines`, baseline)).to.match(/^NetworkBaseline dns is part of the network-policy catalog/);
      const service: KubeObject = { apiVersion: `${D}/v1alpha1`, kind: 'SharedService', metadata: { name: 'postgres' }, spec: { namespace: 'db', ports: [{ port: '5432' }] } };
      expect(admit(DEV, 'DELETE', `${D}/v1alpha1/sharedservices`, null, service)).to.match(/^SharedService postgres is part of the network-policy catalog/);
    });
  });

  describe('netpol-profiles-admission-parameters', () => {
    const CM = '/v1/configmaps';
    const denied =
      'ConfigMap netpol-profiles/netpol-profiles-admission holds the identities the netpol-profiles admission guards trust: only GitOps or cluster admins (groups system:masters) may change or delete it';

    it('only GitOps and cluster admins may change or delete the parameters; a missing ConfigMap may be created', () => {
      const changed = { ...params, data: { ...(params.data as object), breakGlassGroups: 'everyone' } } as KubeObject;
      for (const user of [DEV, ONCALL, OPERATOR]) {
        expect(admit(user, 'UPDATE', CM, changed, params), user.name).to.equal(denied);
        expect(admit(user, 'DELETE', CM, null, params), user.name).to.equal(denied);
      }
      for (const user of [ARGO, CI, ADMIN]) expect(admit(user, 'UPDATE', CM, changed, params), user.name).to.equal('allowed');
      const elsewhere = { ...params, metadata: { ...params.metadata, namespace: 'shop' } } as KubeObject;
      expect(admit(DEV, 'CREATE', CM, elsewhere)).to.equal('allowed');
      const other = { ...params, metadata: { ...params.metadata, name: 'unrelated' } } as KubeObject;
      expect(admit(DEV, 'UPDATE', CM, other, other)).to.equal('allowed');
      server.delete('v1', 'configmaps', 'netpol-profiles', 'netpol-profiles-admission');
      expect(admit(OPERATOR, 'CREATE', CM, params)).to.equal('allowed');
    });
  });
});
