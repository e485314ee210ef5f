// ValidatingAdmissionPolicy in the test API server: the API objects (validation, defaults,
// kubectl columns), matching, params, matchConditions, variables, validations, failurePolicy,
// Deny/Warn/Audit, and denials worded and coded like the real server's, as kubectl shows them.
import { expect } from 'chai';
import { TestApiServer } from '../support/apiserver/server.js';
import type { KubeObject } from '../support/apiserver/types.js';
import { eventually, kubectl, request, requireKubectl } from './support.js';

const ADMISSION = 'admissionregistration.k8s.io/v1';

interface PolicyOptions {
  name: string;
  spec: Record<string, unknown>;
  binding?: Record<string, unknown>;
}

/** A policy on ConfigMaps (unless `spec.matchConstraints` says otherwise) and its binding (Deny). */
function install(server: TestApiServer, { name, spec, binding = {} }: PolicyOptions): void {
  server.apply({
    apiVersion: ADMISSION,
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['configmaps'] }] },
      ...spec,
    },
  });
  server.apply({ apiVersion: ADMISSION, kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: `${name}-binding` }, spec: { policyName: name, validationActions: ['Deny'], ...binding } });
}

function configMap(name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels }, data };
}

describe('test API server: ValidatingAdmissionPolicy', function () {
  this.timeout(30_000);
  let server: TestApiServer;

  before(async () => {
    requireKubectl();
    server = await TestApiServer.start({ crdFiles: [] });
  });
  after(async () => server.stop());
  afterEach(() => {
    for (const b of server.list(ADMISSION, 'validatingadmissionpolicybindings')) server.delete(ADMISSION, 'validatingadmissionpolicybindings', undefined, b.metadata.name!);
    for (const p of server.list(ADMISSION, 'validatingadmissionpolicies')) server.delete(ADMISSION, 'validatingadmissionpolicies', undefined, p.metadata.name!);
    for (const cm of server.list('v1', 'configmaps', 'default')) server.delete('v1', 'configmaps', 'default', cm.metadata.name!);
  });

  const create = (obj: unknown, ns = 'default', token?: string) => request(server, 'POST', `/api/v1/namespaces/${ns}/configmaps`, { body: obj, ...(token ? { token } : {}) });

  describe('the API objects', () => {
    it('refuses a policy whose CEL does not compile, and one without rules or validations, with 422 and the field', async () => {
      const bad = await request(server, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
        body: {
          apiVersion: ADMISSION,
          kind: 'ValidatingAdmissionPolicy',
          metadata: { name: 'bad' },
          spec: {
            matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }] },
            validations: [{ expression: 'object.data.size(' }, { expression: "'not a bool'" }],
            variables: [{ name: 'x', expression: 'nosuchvariable.y' }],
          },
        },
      });
      expect(bad.status).to.equal(422);
      const message = String(bad.json.message);
      expect(message).to.match(/^ValidatingAdmissionPolicy\.admissionregistration\.k8s\.io "bad" is invalid: \[/);
      expect(message).to.contain('spec.validations[0].expression: Invalid value: "object.data.size(": compilation failed');
      expect(message).to.contain("spec.validations[1].expression: Invalid value: \"'not a bool'\": compilation failed: must evaluate to bool");
      expect(message).to.contain('spec.variables[0].expression: Invalid value: "nosuchvariable.y": compilation failed');
      const empty = await request(server, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies', {
        body: { apiVersion: ADMISSION, kind: 'ValidatingAdmissionPolicy', metadata: { name: 'empty' }, spec: {} },
      });
      expect(empty.status).to.equal(422);
      expect(String(empty.json.message)).to.contain('spec.matchConstraints: Required value').and.contain('spec.validations: Required value');
      const binding = await request(server, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings', {
        body: { apiVersion: ADMISSION, kind: 'ValidatingAdmissionPolicyBinding', metadata: { name: 'b' }, spec: { policyName: 'p', validationActions: ['Deny', 'Warn'], paramRef: { name: 'x' } } },
      });
      expect(binding.status).to.equal(422);
      expect(String(binding.json.message)).to.contain('must not contain both Deny and Warn').and.contain('spec.paramRef.parameterNotFoundAction: Required value');
    });

    it('defaults failurePolicy, matchPolicy, selectors and scope, and kubectl lists both kinds with their columns', async () => {
      install(server, { name: 'listed', spec: { validations: [{ expression: 'true' }], paramKind: { apiVersion: 'v1', kind: 'ConfigMap' } }, binding: { paramRef: { name: 'p', namespace: 'default', parameterNotFoundAction: 'Allow' } } });
      const policy = server.get(ADMISSION, 'validatingadmissionpolicies', undefined, 'listed')!;
      expect((policy.spec as { failurePolicy: string }).failurePolicy).to.equal('Fail');
      expect((policy.spec as { matchConstraints: unknown }).matchConstraints).to.deep.include({ matchPolicy: 'Equivalent', namespaceSelector: {}, objectSelector: {} });
      const policies = await kubectl(server, ['get', 'validatingadmissionpolicies']);
      expect(policies.stdout).to.match(/NAME\s+VALIDATIONS\s+PARAMKIND\s+AGE\nlisted\s+1\s+v1\/ConfigMap\s+/);
      const bindings = await kubectl(server, ['get', 'validatingadmissionpolicybindings']);
      expect(bindings.stdout).to.match(/NAME\s+POLICYNAME\s+PARAMREF\s+AGE\nlisted-binding\s+listed\s+default\/p\s+/);
    });
  });

  describe('validations and actions', () => {
    it('denies with 422 Invalid in the real wording, which kubectl prints as the user sees it', async () => {
      install(server, { name: 'small', spec: { validations: [{ expression: 'size(object.data) <= 1', message: 'at most one key' }] } });
      const res = await create(configMap('big', { a: '1', b: '2' }));
      expect(res.status).to.equal(422);
      expect(res.json).to.deep.include({
        kind: 'Status',
        status: 'Failure',
        reason: 'Invalid',
        code: 422,
        message: `configmaps "big" is forbidden: ValidatingAdmissionPolicy 'small' with binding 'small-binding' denied request: at most one key`,
      });
      expect(res.json.details).to.deep.equal({ name: 'big', kind: 'configmaps', causes: [{ message: `ValidatingAdmissionPolicy 'small' with binding 'small-binding' denied request: at most one key` }] });
      // kubectl formats an Invalid status from its causes (a cause without a field: ": message").
      const applied = await kubectl(server, ['apply', '-f', '-'], JSON.stringify(configMap('big', { a: '1', b: '2' })));
      expect(applied.code).to.equal(1);
      expect(applied.stderr.trim()).to.equal(
        `The configmaps "big" is invalid: : ValidatingAdmissionPolicy 'small' with binding 'small-binding' denied request: at most one key`,
      );
      const created = await kubectl(server, ['create', 'configmap', 'big', '--from-literal=a=1', '--from-literal=b=2']);
      expect(created.stderr.trim()).to.equal(`error: failed to create configmap: configmaps "big" is forbidden: ValidatingAdmissionPolicy 'small' with binding 'small-binding' denied request: at most one key`);
      expect(server.get('v1', 'configmaps', 'default', 'big')).to.equal(undefined);
      expect((await create(configMap('one', { a: '1' }))).status).to.equal(201);
    });

    it('words the message from messageExpression, else message, else the expression, and codes it from the reason', async () => {
      install(server, {
        name: 'msgs',
        spec: {
          validations: [
            { expression: "!('a' in object.data)", messageExpression: "'key a is not allowed in ' + object.metadata.name", message: 'fallback' },
            { expression: "!('b' in object.data)", messageExpression: "'multi\\nline'", message: 'key b is not allowed' },
            { expression: "!('c' in object.data)" },
            { expression: "!('d' in object.data)", message: 'no d', reason: 'Forbidden' },
          ],
        },
      });
      const denial = async (key: string) => {
        const res = await create(configMap(`cm-${key}`, { [key]: 'x' }));
        return { status: res.status, reason: res.json.reason, message: String(res.json.message).replace(/^.*denied request: /, '') };
      };
      expect(await denial('a')).to.deep.equal({ status: 422, reason: 'Invalid', message: 'key a is not allowed in cm-a' });
      expect(await denial('b')).to.deep.equal({ status: 422, reason: 'Invalid', message: 'key b is not allowed' });
      expect(await denial('c')).to.deep.equal({ status: 422, reason: 'Invalid', message: "failed expression: !('c' in object.data)" });
      expect(await denial('d')).to.deep.equal({ status: 403, reason: 'Forbidden', message: 'no d' });
    });

    it('Warn lets the write through with a Warning header kubectl prints; Audit records it', async () => {
      install(server, { name: 'soft', spec: { validations: [{ expression: "!('debug' in object.data)", message: 'debug keys are discouraged' }] }, binding: { validationActions: ['Warn', 'Audit'] } });
      const out = await kubectl(server, ['create', 'configmap', 'soft', '--from-literal=debug=1']);
      expect(out.code).to.equal(0);
      expect(out.stderr).to.contain(`Warning: Validation failed for ValidatingAdmissionPolicy 'soft' with binding 'soft-binding': debug keys are discouraged`);
      expect(server.get('v1', 'configmaps', 'default', 'soft')).to.not.equal(undefined);
      expect(server.admission.audit.at(-1)).to.deep.include({ policy: 'soft', binding: 'soft-binding', message: 'debug keys are discouraged', expressionIndex: 0, operation: 'CREATE', resource: 'configmaps', namespace: 'default', name: 'soft' });
    });

    it('failurePolicy decides about runtime errors: Fail denies naming the expression, Ignore admits', async () => {
      install(server, { name: 'strict', spec: { validations: [{ expression: "object.data.mode == 'x'" }] } });
      const failed = await create(configMap('nomode', { other: '1' }));
      expect(failed.status).to.equal(422);
      expect(String(failed.json.message)).to.match(/denied request: expression 'object\.data\.mode == 'x'' resulted in error: no such key: mode/i);
      server.apply({ ...server.get(ADMISSION, 'validatingadmissionpolicies', undefined, 'strict')!, spec: { ...(server.get(ADMISSION, 'validatingadmissionpolicies', undefined, 'strict')!.spec as object), failurePolicy: 'Ignore' } });
      expect((await create(configMap('nomode', { other: '1' }))).status).to.equal(201);
    });

    it('evaluates variables and matchConditions: a false condition skips the policy, an error fails closed', async () => {
      install(server, {
        name: 'cond',
        spec: {
          variables: [{ name: 'tier', expression: "has(object.metadata.labels) && 'tier' in object.metadata.labels ? object.metadata.labels['tier'] : 'none'" }],
          matchConditions: [{ name: 'only-prod', expression: "variables.tier == 'prod' || object.metadata.name == 'broken' && object.data.missing == 'x'" }],
          validations: [{ expression: "'owner' in object.data", messageExpression: "'a ' + variables.tier + ' ConfigMap needs an owner'" }],
        },
      });
      expect((await create(configMap('dev', {}, { tier: 'dev' }))).status).to.equal(201);
      const prod = await create(configMap('prod', {}, { tier: 'prod' }));
      expect(String(prod.json.message)).to.contain('denied request: a prod ConfigMap needs an owner');
      expect((await create(configMap('prod', { owner: 'me' }, { tier: 'prod' }))).status).to.equal(201);
      const broken = await create(configMap('broken', {}));
      expect(broken.status).to.equal(422);
      expect(String(broken.json.message)).to.match(/denied request: expression '.*' resulted in error: no such key: missing/i);
    });

    it('gives DELETE the old object and a null object, also in a deletecollection, and tells dry runs apart', async () => {
      server.apply({ ...configMap('keep', {}, { protected: 'true' }), metadata: { name: 'keep', namespace: 'default', labels: { protected: 'true' } } });
      server.apply({ ...configMap('other'), metadata: { name: 'other', namespace: 'default' } });
      install(server, {
        name: 'nodelete',
        spec: {
          validations: [
            { expression: "request.operation != 'DELETE' || object == null && !(has(oldObject.metadata.labels) && 'protected' in oldObject.metadata.labels)", message: 'protected' },
            { expression: "!request.dryRun || request.operation != 'CREATE'", message: 'no dry runs' },
          ],
        },
      });
      expect((await request(server, 'DELETE', '/api/v1/namespaces/default/configmaps/keep')).status).to.equal(422);
      expect((await request(server, 'DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=protected')).status).to.equal(422);
      expect(server.get('v1', 'configmaps', 'default', 'keep')).to.not.equal(undefined);
      expect((await request(server, 'DELETE', '/api/v1/namespaces/default/configmaps/other')).status).to.equal(200);
      const dry = await request(server, 'POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { body: configMap('dry') });
      expect(String(dry.json.message)).to.contain('denied request: no dry runs');
    });

    it('exposes the namespace object and asks RBAC through the authorizer', async () => {
      server.rbac.enabled = true;
      try {
        server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'labelled', labels: { team: 'blue' } } });
        server.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cm-writer' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['create', 'get'] }] });
        server.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'cm-writer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cm-writer' }, subjects: [{ kind: 'User', name: 'carol' }] });
        install(server, {
          name: 'ns-and-authz',
          spec: {
            validations: [
              { expression: "has(namespaceObject.metadata.labels) && 'team' in namespaceObject.metadata.labels && namespaceObject.metadata.labels['team'] == 'blue'", message: 'team blue only' },
              { expression: "authorizer.group('').resource('configmaps').namespace(request.namespace).check('delete').allowed() || !('admin' in object.data)", message: 'admin keys need delete rights' },
            ],
          },
        });
        const carol = server.rbac.addToken({ name: 'carol', groups: ['system:authenticated'] });
        expect(String((await create(configMap('x'), 'default', carol)).json.message)).to.contain('team blue only');
        expect((await create(configMap('x'), 'labelled', carol)).status).to.equal(201);
        expect(String((await create(configMap('y', { admin: '1' }), 'labelled', carol)).json.message)).to.contain('admin keys need delete rights');
        expect((await create(configMap('y', { admin: '1' }), 'labelled')).status).to.equal(201);
      } finally {
        server.rbac.enabled = false;
      }
    });
  });

  describe('matching', () => {
    it('follows operations, resourceNames, excludeResourceRules, the namespace and object selectors, and binding matchResources', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'guarded', labels: { guard: 'on' } } });
      install(server, {
        name: 'matcher',
        spec: {
          matchConstraints: {
            resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] }],
            excludeResourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['*'], resources: ['configmaps'], resourceNames: ['excluded'] }],
            namespaceSelector: { matchLabels: { guard: 'on' } },
            objectSelector: { matchExpressions: [{ key: 'skip', operator: 'DoesNotExist' }] },
          },
          validations: [{ expression: 'false', message: 'matched' }],
        },
        binding: { matchResources: { objectSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['test'] }] } } },
      });
      const status = async (name: string, ns: string, labels: Record<string, string> = {}) => (await create(configMap(name, {}, labels), ns)).status;
      expect(await status('a', 'guarded')).to.equal(422);
      expect(await status('a', 'default')).to.equal(201);
      expect(await status('excluded', 'guarded')).to.equal(201);
      expect(await status('b', 'guarded', { skip: 'yes' })).to.equal(201);
      expect(await status('c', 'guarded', { tier: 'test' })).to.equal(201);
      // UPDATE is not among the operations.
      expect((await request(server, 'PATCH', '/api/v1/namespaces/guarded/configmaps/b', { body: { data: { x: '1' } }, contentType: 'application/merge-patch+json' })).status).to.equal(200);
    });

    it('matches a subresource only when a rule names it', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'subres' } });
      install(server, {
        name: 'no-ns-updates',
        spec: {
          matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['namespaces'] }] },
          validations: [{ expression: 'false', message: 'namespaces are frozen' }],
        },
      });
      const ns = server.get('v1', 'namespaces', undefined, 'subres')!;
      expect((await request(server, 'PUT', '/api/v1/namespaces/subres', { body: { ...ns, metadata: { ...ns.metadata, labels: { a: 'b' } } } })).status).to.equal(422);
      expect((await request(server, 'PUT', '/api/v1/namespaces/subres/status', { body: { ...ns, status: { phase: 'Active', conditions: [] } } })).status).to.equal(200);
    });
  });

  describe('params', () => {
    it('reads the ConfigMap a binding names; a missing one is a configuration error with Deny and skips the policy with Allow', async () => {
      install(server, {
        name: 'limits',
        spec: { paramKind: { apiVersion: 'v1', kind: 'ConfigMap' }, validations: [{ expression: 'size(object.data) <= int(params.data.maxKeys)', messageExpression: "'at most ' + params.data.maxKeys + ' keys'" }] },
        binding: { paramRef: { name: 'limits', namespace: 'kube-system', parameterNotFoundAction: 'Deny' } },
      });
      const missing = await create(configMap('p1', { a: '1' }));
      expect(missing.json.message).to.equal(
        "configmaps \"p1\" is forbidden: ValidatingAdmissionPolicy 'limits' with binding 'limits-binding' denied request: failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction",
      );
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'limits', namespace: 'kube-system' }, data: { maxKeys: '1' } });
      expect((await create(configMap('p1', { a: '1' }))).status).to.equal(201);
      expect(String((await create(configMap('p2', { a: '1', b: '2' }))).json.message)).to.contain('denied request: at most 1 keys');
      server.delete('v1', 'configmaps', 'kube-system', 'limits');
      const binding = server.get(ADMISSION, 'validatingadmissionpolicybindings', undefined, 'limits-binding')!;
      server.apply({ ...binding, spec: { ...(binding.spec as object), paramRef: { name: 'limits', namespace: 'kube-system', parameterNotFoundAction: 'Allow' } } });
      expect((await create(configMap('p3', { a: '1', b: '2' }))).status).to.equal(201);
    });

    it('evaluates once per param a selector finds, in the request namespace by default', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'multi' } });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rule-a', namespace: 'multi', labels: { rule: 'yes' } }, data: { forbidden: 'a' } });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'rule-b', namespace: 'multi', labels: { rule: 'yes' } }, data: { forbidden: 'b' } });
      install(server, {
        name: 'per-param',
        spec: {
          paramKind: { apiVersion: 'v1', kind: 'ConfigMap' },
          matchConditions: [{ name: 'not-a-rule', expression: "!has(object.metadata.labels) || !('rule' in object.metadata.labels)" }],
          validations: [{ expression: '!(params.data.forbidden in object.data)', messageExpression: "'key ' + params.data.forbidden + ' is forbidden by ' + params.metadata.name" }],
        },
        binding: { paramRef: { selector: { matchLabels: { rule: 'yes' } }, parameterNotFoundAction: 'Allow' } },
      });
      expect(String((await create(configMap('x', { b: '1' }), 'multi')).json.message)).to.contain('denied request: key b is forbidden by rule-b');
      expect((await create(configMap('x', { c: '1' }), 'multi')).status).to.equal(201);
      // No params in `default`: parameterNotFoundAction Allow.
      expect((await create(configMap('x', { b: '1' }), 'default')).status).to.equal(201);
    });
  });

  describe('who is admitted', () => {
    it('in-process writes bypass admission; the namespace controller is admitted as itself, and a refusal keeps the namespace Terminating', async () => {
      server.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'precious', namespace: 'doomed' } });
      install(server, {
        name: 'cling',
        spec: { validations: [{ expression: "request.operation != 'DELETE' || request.userInfo.username != 'system:serviceaccount:kube-system:namespace-controller'", message: 'stays' }] },
      });
      server.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'in-process', namespace: 'doomed' }, data: { any: 'thing' } });
      expect((await request(server, 'DELETE', '/api/v1/namespaces/doomed')).status).to.equal(200);
      await new Promise((r) => setTimeout(r, 700));
      expect(server.get('v1', 'namespaces', undefined, 'doomed')?.status).to.deep.equal({ phase: 'Terminating' });
      expect(server.get('v1', 'configmaps', 'doomed', 'precious')).to.not.equal(undefined);
      server.delete(ADMISSION, 'validatingadmissionpolicybindings', undefined, 'cling-binding');
      await eventually(() => (server.get('v1', 'namespaces', undefined, 'doomed') === undefined ? true : undefined), 'namespace gone after the refusal ends', 5000);
    });
  });
});
