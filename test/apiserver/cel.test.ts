// Kubernetes' CEL in the test API server (test/support/cel.ts over @marcbachmann/cel-js): CRD
// validation rules through the schema validator, and the admission environment (variables,
// authorizer, Kubernetes' list and regex functions, int64 values).
import { expect } from 'chai';
import { formatSchemaError, validateSchema, type JsonSchema } from '../../src/kube/openapi.js';
import { AdmissionContext, CEL_RULES, CelCompileError, CelEvalError, compileAdmissionExpression, fromCel, toCel, type AuthorizationQuery } from '../support/cel.js';

describe('cel: CRD validation rules', () => {
  const holds = (rule: string, self: unknown) => CEL_RULES.compile(rule).holds(self);

  it('evaluates field access, operators, ternaries, string functions and macros', () => {
    const self = { metadata: { name: 'standard' }, spec: { min: 1, max: 3, tags: ['a', 'b'], labels: { app: 'x' }, mode: 'strict', ports: [{ port: 80 }, { port: 443, name: 'https' }] } };
    expect(holds("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 48", self)).to.equal(true);
    expect(holds('self.spec.min <= self.spec.max', self)).to.equal(true);
    expect(holds('self.spec.min > self.spec.max', self)).to.equal(false);
    expect(holds("self.spec.mode == 'strict' ? size(self.spec.tags) == 2 : true", self)).to.equal(true);
    expect(holds("'a' in self.spec.tags && !('c' in self.spec.tags) && 'app' in self.spec.labels", self)).to.equal(true);
    expect(holds('self.spec.ports.all(p, p.port > 0 && p.port < 65536) && self.spec.ports.exists_one(p, has(p.name))', self)).to.equal(true);
    expect(holds('self.spec.ports.map(p, p.port) == [80, 443] && self.spec.ports.filter(p, p.port > 100).size() == 1', self)).to.equal(true);
  });

  it('treats JSON integers as int, so integer arithmetic and division are CEL int64', () => {
    expect(holds('self.n + 1 == 4 && self.n / 2 == 1 && self.n % 2 == 1', { n: 3 })).to.equal(true);
    expect(holds('self.x > 1.0', { x: 1.5 })).to.equal(true);
    expect(fromCel(toCel({ a: [1, 2.5, 'x'] }))).to.deep.equal({ a: [1, 2.5, 'x'] });
  });

  it('absorbs an error on one side of || and &&, and reports one otherwise', () => {
    expect(holds('!has(self.spec) || self.spec.x > 0', {})).to.equal(true);
    expect(holds('has(self.spec) && self.spec.x > 0', {})).to.equal(false);
    expect(() => holds('self.spec.x > 0', {})).to.throw(CelEvalError, /no such key: spec/i);
  });

  it('refuses a rule that does not parse, uses an unknown name, or is not a bool', () => {
    expect(() => CEL_RULES.compile('self.x ===')).to.throw(CelCompileError);
    expect(() => CEL_RULES.compile('object.x == 1')).to.throw(CelCompileError, /object/);
    expect(() => CEL_RULES.compile("'a' + 'b'")).to.throw(CelCompileError, /must evaluate to bool/);
  });

  it("runs in validateSchema with the server's wording, message, messageExpression, reason and fieldPath", () => {
    const schema: JsonSchema = {
      type: 'object',
      'x-kubernetes-validations': [{ rule: 'size(self.metadata.name) <= 10', message: 'metadata.name must be at most 10 characters' }],
      properties: {
        metadata: { type: 'object' },
        spec: {
          type: 'object',
          'x-kubernetes-validations': [
            { rule: 'self.min <= self.max' },
            { rule: "!has(self.secret) || self.mode == 'strict'", reason: 'FieldValueForbidden', fieldPath: '.secret', message: 'only in strict mode' },
            { rule: 'self.max <= 100', messageExpression: "'max is ' + string(self.max) + ', at most 100'" },
            { rule: 'self.min == oldSelf.min', message: 'immutable' },
          ],
          properties: { min: { type: 'integer' }, max: { type: 'integer' }, mode: { type: 'string' }, secret: { type: 'string' } },
        },
      },
    };
    const ok = { metadata: { name: 'short' }, spec: { min: 1, max: 2, mode: 'strict', secret: 's' } };
    expect(validateSchema(schema, ok, { cel: CEL_RULES })).to.deep.equal([]);
    const bad = { metadata: { name: 'far-too-long-a-name' }, spec: { min: 300, max: 200, mode: 'lax', secret: 's' } };
    expect(validateSchema(schema, bad, { cel: CEL_RULES }).map(formatSchemaError)).to.deep.equal([
      'spec: Invalid value: "object": failed rule: self.min <= self.max',
      'spec.secret: Forbidden: only in strict mode',
      'spec: Invalid value: "object": max is 200, at most 100',
      'Invalid value: "object": metadata.name must be at most 10 characters',
    ]);
    // Without a CEL implementation (catalog validation in the operator) the rules are not checked.
    expect(validateSchema(schema, bad)).to.deep.equal([]);
  });
});

describe('cel: the admission environment', () => {
  const rbac = (q: AuthorizationQuery) => {
    const allowed = q.kind === 'resource' ? q.user === 'alice' && q.verb === 'get' && q.resource === 'configmaps' && (q.namespace === 'shop' || q.namespace === '') : q.path === '/healthz';
    return { allowed, reason: allowed ? 'RBAC: allowed' : '' };
  };
  const context = (over: Partial<ConstructorParameters<typeof AdmissionContext>[0]> = {}) =>
    new AdmissionContext({
      object: { metadata: { name: 'shop', labels: { team: 'a' } }, spec: { replicas: 3 } },
      oldObject: null,
      request: { operation: 'CREATE', userInfo: { username: 'alice', groups: ['dev'] } },
      params: { data: { groups: 'ops, dev' } },
      namespaceObject: null,
      user: { name: 'alice', groups: ['dev'] },
      authorize: rbac,
      requestResource: { group: '', resource: 'configmaps', subresource: '', namespace: 'shop', name: 'cfg' },
      ...over,
    });
  const evaluate = (expression: string, ctx = context()) => compileAdmissionExpression(expression, 'any')(ctx);

  it('exposes object, oldObject, request, params and namespaceObject', () => {
    expect(evaluate("object.metadata.name == 'shop' && oldObject == null && request.operation == 'CREATE' && namespaceObject == null")).to.equal(true);
    expect(evaluate("request.userInfo.groups.exists(g, g in params.data.groups.split(',').map(s, s.trim()))")).to.equal(true);
    expect(evaluate('object.spec.replicas * 2')).to.equal(6n);
  });

  it('evaluates variables lazily, once, in terms of each other, and fails only the expressions that use a broken one', () => {
    const ctx = context();
    let runs = 0;
    ctx.defineVariable('labels', (c) => {
      runs++;
      return compileAdmissionExpression('has(object.metadata.labels) ? object.metadata.labels : {}', 'any')(c);
    });
    ctx.defineVariable('team', compileAdmissionExpression("variables.labels['team']", 'any'));
    ctx.defineVariable('broken', new CelCompileError('Unknown variable: nope'));
    expect(evaluate("variables.team == 'a' && size(variables.labels) == 1", ctx)).to.equal(true);
    expect(runs).to.equal(1);
    expect(() => evaluate('variables.broken', ctx)).to.throw(CelEvalError, 'composited variable "broken" fails to compile: Unknown variable: nope');
    expect(evaluate('variables.team == "a"', ctx)).to.equal(true);
  });

  it("asks the server's authorizer for the request's user, a ServiceAccount, and the request's own resource", () => {
    expect(evaluate("authorizer.group('').resource('configmaps').namespace('shop').check('get').allowed()")).to.equal(true);
    expect(evaluate("authorizer.group('').resource('configmaps').namespace('other').check('get').allowed()")).to.equal(false);
    expect(evaluate("authorizer.group('').resource('configmaps').namespace('shop').check('get').reason()")).to.equal('RBAC: allowed');
    expect(evaluate("authorizer.path('/healthz').check('get').allowed() && !authorizer.path('/metrics').check('get').allowed()")).to.equal(true);
    expect(evaluate("authorizer.serviceAccount('kube-system', 'x').group('').resource('configmaps').check('get').allowed()")).to.equal(false);
    expect(evaluate("authorizer.requestResource.check('get').allowed() && !authorizer.requestResource.check('delete').allowed()")).to.equal(true);
  });

  it("has Kubernetes' list and regex functions", () => {
    expect(evaluate('[1, 2, 3].isSorted() && [3, 1].sum() == 4 && [3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && [1, 2, 1].lastIndexOf(1) == 2')).to.equal(true);
    expect(evaluate("'abc 123 def 456'.find('[0-9]+') == '123' && 'abc 123 def 456'.findAll('[0-9]+') == ['123', '456']")).to.equal(true);
  });

  it('refuses at compile time what cannot run: syntax, unknown names and functions, wrong result types', () => {
    expect(() => compileAdmissionExpression('object.metadata.name ==', 'bool')).to.throw(CelCompileError);
    expect(() => compileAdmissionExpression('self.x', 'bool')).to.throw(CelCompileError, /self/);
    expect(() => compileAdmissionExpression("object.metadata.name.noSuchFunction('x')", 'bool')).to.throw(CelCompileError);
    expect(() => compileAdmissionExpression("'x'", 'bool')).to.throw(CelCompileError, /must evaluate to bool/);
  });
});
