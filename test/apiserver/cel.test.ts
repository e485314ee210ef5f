// The CEL subset behind x-kubernetes-validations, and its use by the schema validator.
import { expect } from 'chai';
import { CelEvalError, CelUnsupported, compileCel } from '../../src/kube/cel.js';
import { formatSchemaError, validateSchema, type JsonSchema } from '../../src/kube/openapi.js';

describe('cel: validation rule subset', () => {
  const holds = (rule: string, self: unknown) => compileCel(rule)(self);

  it('evaluates field access, operators, ternaries and string functions', () => {
    const self = { metadata: { name: 'standard' }, spec: { min: 1, max: 3, tags: ['a', 'b'], labels: { app: 'x' }, mode: 'strict' } };
    expect(holds("self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 48", self)).to.equal(true);
    expect(holds('self.spec.min <= self.spec.max', self)).to.equal(true);
    expect(holds('self.spec.min > self.spec.max', self)).to.equal(false);
    expect(holds("self.spec.mode == 'strict' ? size(self.spec.tags) == 2 : true", self)).to.equal(true);
    expect(holds("'a' in self.spec.tags && !('c' in self.spec.tags) && 'app' in self.spec.labels", self)).to.equal(true);
    expect(holds("self.spec.mode.startsWith('str') && self.spec.mode.endsWith('ct') && self.spec.mode.contains('ri')", self)).to.equal(true);
    expect(holds('self.spec.max - self.spec.min * 2 == 1 && self.spec.max / 2 == 1 && self.spec.max % 2 == 1', self)).to.equal(true);
    expect(holds('self.spec.tags.size() == 2 && [1, 2] + [3] == [1, 2, 3]', self)).to.equal(true);
  });

  it('supports has() and the list/map macros', () => {
    const self = { ports: [{ port: 80 }, { port: 443, name: 'https' }], m: { a: 1 } };
    expect(holds('has(self.ports) && !has(self.missing)', self)).to.equal(true);
    expect(holds('self.ports.all(p, p.port > 0 && p.port < 65536)', self)).to.equal(true);
    expect(holds('self.ports.exists(p, has(p.name))', self)).to.equal(true);
    expect(holds('self.ports.exists_one(p, p.port == 80)', self)).to.equal(true);
    expect(holds('self.ports.map(p, p.port) == [80, 443]', self)).to.equal(true);
    expect(holds('self.ports.filter(p, p.port > 100).size() == 1', self)).to.equal(true);
    expect(holds("self.m.all(k, k == 'a')", self)).to.equal(true);
  });

  it('absorbs an error on one side of || and &&, like CEL', () => {
    expect(holds('!has(self.spec) || self.spec.x > 0', {})).to.equal(true);
    expect(holds('has(self.spec) && self.spec.x > 0', {})).to.equal(false);
    expect(() => holds('self.spec.x > 0', {})).to.throw(CelEvalError, 'no such key: spec');
  });

  it('refuses what it does not implement', () => {
    expect(() => compileCel('self.x.quantity().isGreaterThan(1)')).to.not.throw();
    expect(() => holds('self.x.quantity()', { x: '1' })).to.throw(CelUnsupported);
    expect(() => compileCel('self.x ===')).to.throw(CelUnsupported);
  });

  it('runs in validateSchema with the server\'s wording, message, reason and fieldPath', () => {
    const schema: JsonSchema = {
      type: 'object',
      'x-kubernetes-validations': [
        { rule: 'size(self.metadata.name) <= 10', message: 'metadata.name must be at most 10 characters' },
      ],
      properties: {
        metadata: { type: 'object' },
        spec: {
          type: 'object',
          'x-kubernetes-validations': [
            { rule: 'self.min <= self.max' },
            { rule: "!has(self.secret) || self.mode == 'strict'", reason: 'FieldValueForbidden', fieldPath: '.secret', message: 'only in strict mode' },
            { rule: 'self.quantity().isZero()' },
            { rule: 'self.min == oldSelf.min', message: 'immutable' },
          ],
          properties: { min: { type: 'integer' }, max: { type: 'integer' }, mode: { type: 'string' }, secret: { type: 'string' } },
        },
      },
    };
    const ok = { metadata: { name: 'short' }, spec: { min: 1, max: 2, mode: 'strict', secret: 's' } };
    expect(validateSchema(schema, ok)).to.deep.equal([]);
    const bad = { metadata: { name: 'far-too-long-a-name' }, spec: { min: 3, max: 2, mode: 'lax', secret: 's' } };
    expect(validateSchema(schema, bad).map(formatSchemaError)).to.deep.equal([
      'spec: Invalid value: "object": failed rule: self.min <= self.max',
      'spec.secret: Forbidden: only in strict mode',
      'Invalid value: "object": metadata.name must be at most 10 characters',
    ]);
  });
});
