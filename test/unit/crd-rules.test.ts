// The CRD rules of crd-rules.ts: every CRD we ship or load passes, each rule catches its violation
// with the server's field path, and the test API server refuses a non-structural CRD like a cluster.
import { expect } from 'chai';
import path from 'node:path';
import { crdDefinitionProblems, type CrdProblem } from '../support/apiserver/crd-rules.js';
import type { CustomResourceDefinition } from '../../src/kube/openapi.js';
import { loadCrdFiles } from '../support/apiserver/crd-schema.js';
import { TestApiServer } from '../support/apiserver/server.js';
import { CILIUM_CRD_DIR, projectPath } from '../support/project.js';

const ROOT = 'spec.versions[0].schema.openAPIV3Schema';
const SPEC = `${ROOT}.properties[spec]`;

/** A minimal valid CRD whose `spec` field has `specSchema`, with version fields overridden by `version`. */
function crdWith(specSchema: Record<string, unknown>, version: Record<string, unknown> = {}, root: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'gizmos.test.netpol.dev' },
    spec: {
      group: 'test.netpol.dev',
      names: { kind: 'Gizmo', plural: 'gizmos' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' }, spec: specSchema },
              ...root,
            },
          },
          ...version,
        },
      ],
    },
  };
}

function lines(problems: CrdProblem[]): string[] {
  return problems.map((p) => `${p.path}: ${p.message}`);
}

function problemsOf(specSchema: Record<string, unknown>, version?: Record<string, unknown>, root?: Record<string, unknown>): string[] {
  return lines(crdDefinitionProblems(crdWith(specSchema, version, root)));
}

function realCrd(file: string): CustomResourceDefinition {
  const [crd] = loadCrdFiles([file]);
  if (!crd) throw new Error(`no CRD in ${file}`);
  return crd;
}

const REAL_CRDS = [
  path.join(CILIUM_CRD_DIR, 'ciliumnetworkpolicies.yaml'),
  path.join(CILIUM_CRD_DIR, 'ciliumclusterwidenetworkpolicies.yaml'),
  projectPath('crds', 'networkprofiles.network-policy.homelab.yaml'),
  projectPath('crds', 'sharedservices.network-policy.homelab.yaml'),
  projectPath('crds', 'networkbaselines.network-policy.homelab.yaml'),
];

describe('CRD definition rules', () => {
  describe('real CRDs', () => {
    for (const file of REAL_CRDS) {
      it(`${path.basename(file)} has no problems`, () => {
        expect(lines(crdDefinitionProblems(realCrd(file)))).to.deep.equal([]);
      });
    }

    it('the checker reaches deep nodes of a real CRD (so the passes above mean something)', () => {
      const crd = realCrd(REAL_CRDS[0]!);
      const v2 = crd.spec.versions.findIndex((v) => v.name === 'v2');
      const spec = crd.spec.versions[v2]!.schema!.openAPIV3Schema!.properties!.spec!;
      const port = spec.properties!.egress!.items!.properties!.toPorts!.items!.properties!.ports!.items!.properties!.port!;
      delete port.type;
      expect(lines(crdDefinitionProblems(crd))).to.deep.equal([
        `spec.versions[${v2}].schema.openAPIV3Schema.properties[spec].properties[egress].items.properties[toPorts].items.properties[ports].items.properties[port].type: Required value: must not be empty for specified object fields`,
      ]);
    });

    it('the minimal CRD of these tests is valid itself', () => {
      expect(problemsOf({ type: 'object' })).to.deep.equal([]);
    });
  });

  describe('1. structural types', () => {
    it('requires a type for fields, additionalProperties and items', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: {
            name: { description: 'no type' },
            labels: { type: 'object', additionalProperties: { maxLength: 3 } },
            list: { type: 'array', items: { properties: { a: { type: 'string' } } } },
          },
        }),
      ).to.deep.equal([
        `${SPEC}.properties[name].type: Required value: must not be empty for specified object fields`,
        `${SPEC}.properties[labels].additionalProperties.type: Required value: must not be empty for specified object fields`,
        `${SPEC}.properties[list].items.type: Required value: must not be empty for specified array items`,
      ]);
    });

    it('accepts int-or-string and preserve-unknown-fields nodes without a type', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: {
            port: { 'x-kubernetes-int-or-string': true },
            anything: { 'x-kubernetes-preserve-unknown-fields': true },
          },
        }),
      ).to.deep.equal([]);
    });

    it('requires an object at the root', () => {
      const crd = crdWith({ type: 'object' });
      const schema = (crd.spec as { versions: { schema: { openAPIV3Schema: Record<string, unknown> } }[] }).versions[0]!.schema.openAPIV3Schema;
      schema.type = 'array';
      schema.items = { type: 'string' };
      expect(lines(crdDefinitionProblems(crd))).to.deep.equal([`${ROOT}.type: Invalid value: "array": must be object at the root`]);
      delete schema.type;
      expect(lines(crdDefinitionProblems(crd))).to.deep.equal([`${ROOT}.type: Required value: must not be empty at the root`]);
    });

    it('requires items for arrays and a known type name', () => {
      expect(problemsOf({ type: 'object', properties: { a: { type: 'array' }, b: { type: 'text' } } })).to.deep.equal([
        `${SPEC}.properties[a].items: Required value: must be specified for type array`,
        `${SPEC}.properties[b].type: Unsupported value: "text": supported values: "array", "boolean", "integer", "number", "object", "string"`,
      ]);
    });
  });

  describe('2. junctors', () => {
    it('forbids description, type, default, additionalProperties and nullable inside allOf/anyOf/oneOf/not', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: { a: { type: 'string' }, m: { type: 'object', additionalProperties: { type: 'string' } } },
          anyOf: [{ description: 'why', properties: { a: { type: 'string' } } }],
          oneOf: [{ properties: { a: { default: 'x' } } }, { nullable: true }],
          allOf: [{ properties: { m: { additionalProperties: { type: 'string' } } } }],
          not: { required: ['a'], properties: { a: { nullable: false } } },
        }),
      ).to.deep.equal([
        `${SPEC}.allOf[0].properties[m].additionalProperties: Forbidden: additionalProperties must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
        `${SPEC}.anyOf[0].description: Forbidden: description must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
        `${SPEC}.anyOf[0].properties[a].type: Forbidden: type must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
        `${SPEC}.oneOf[0].properties[a].default: Forbidden: default must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
        `${SPEC}.oneOf[1].nullable: Forbidden: nullable must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
      ]);
    });

    it('accepts the two int-or-string patterns, and only those', () => {
      const anyOf = [{ type: 'integer' }, { type: 'string' }];
      expect(
        problemsOf({
          type: 'object',
          properties: {
            a: { 'x-kubernetes-int-or-string': true, anyOf },
            b: { 'x-kubernetes-int-or-string': true, allOf: [{ anyOf }, { pattern: '^[0-9]+$' }] },
          },
        }),
      ).to.deep.equal([]);
      expect(problemsOf({ type: 'object', properties: { a: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'boolean' }] } } })).to.deep.equal([
        `${SPEC}.properties[a].anyOf[0].type: Forbidden: type must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
        `${SPEC}.properties[a].anyOf[1].type: Forbidden: type must not be set inside allOf, anyOf, oneOf or not; declare it outside`,
      ]);
    });

    it('requires every field and items a junctor names to be declared outside it', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: { a: { type: 'string' }, list: { type: 'array', items: { type: 'string' } }, free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          oneOf: [{ required: ['a'] }, { properties: { b: {} }, required: ['b'] }],
          not: { properties: { a: { items: { minLength: 1 } }, list: { items: { minLength: 1 } } } },
          anyOf: [{ properties: { free: { properties: { x: {} } } } }],
        }),
      ).to.deep.equal([
        `${SPEC}.properties[free].properties[x]: Required value: must be specified because ${SPEC}.anyOf[0].properties[free].properties[x] names it`,
        `${SPEC}.properties[b]: Required value: must be specified because ${SPEC}.oneOf[1].properties[b] names it`,
        `${SPEC}.properties[a].items: Required value: must be specified because ${SPEC}.not.properties[a].items uses it`,
      ]);
    });
  });

  describe('3. forbidden shapes and extension values', () => {
    it('reports each forbidden keyword or value with its path', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: {
            both: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
            closed: { type: 'object', additionalProperties: false },
            set: { type: 'array', uniqueItems: true, items: { type: 'string' } },
            prune: { type: 'object', 'x-kubernetes-preserve-unknown-fields': false },
            embedded: { type: 'string', 'x-kubernetes-embedded-resource': true },
            port: { type: 'string', 'x-kubernetes-int-or-string': true },
            ref: { type: 'object', $ref: '#/definitions/x', definitions: {}, patternProperties: {}, dependencies: {}, id: 'x' },
            tuple: { type: 'array', items: { type: 'string' }, additionalItems: false },
          },
        }),
      ).to.deep.equal([
        `${SPEC}.properties[both].additionalProperties: Forbidden: additionalProperties and properties are mutually exclusive`,
        `${SPEC}.properties[closed].additionalProperties: Forbidden: additionalProperties cannot be false; leave it out, unknown fields are pruned anyway`,
        `${SPEC}.properties[set].uniqueItems: Forbidden: uniqueItems cannot be true (checking it is quadratic); use x-kubernetes-list-type: set`,
        `${SPEC}.properties[prune].x-kubernetes-preserve-unknown-fields: Invalid value: false: must be true or undefined`,
        `${SPEC}.properties[embedded].type: Invalid value: "string": must be object if x-kubernetes-embedded-resource is true`,
        `${SPEC}.properties[embedded].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields`,
        `${SPEC}.properties[port].type: Invalid value: "string": must be empty if x-kubernetes-int-or-string is true`,
        `${SPEC}.properties[ref].$ref: Forbidden: $ref is not supported in CRD schemas`,
        `${SPEC}.properties[ref].definitions: Forbidden: definitions is not supported in CRD schemas`,
        `${SPEC}.properties[ref].patternProperties: Forbidden: patternProperties is not supported in CRD schemas`,
        `${SPEC}.properties[ref].dependencies: Forbidden: dependencies is not supported in CRD schemas`,
        `${SPEC}.properties[ref].id: Forbidden: id is not supported in CRD schemas`,
        `${SPEC}.properties[tuple].additionalItems: Forbidden: additionalItems is not supported in CRD schemas`,
      ]);
    });

    it('forbids additionalProperties at the root', () => {
      expect(problemsOf({ type: 'object' }, {}, { additionalProperties: { type: 'string' } })).to.deep.equal([
        `${ROOT}.additionalProperties: Forbidden: additionalProperties and properties are mutually exclusive`,
        `${ROOT}.additionalProperties: Forbidden: must not be used at the root`,
      ]);
    });

    it('checks x-kubernetes-list-type, list-map-keys and map-type values', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: {
            a: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'bag' },
            b: { type: 'array', items: { type: 'object' }, 'x-kubernetes-list-type': 'map' },
            c: { type: 'object', 'x-kubernetes-list-type': 'set' },
            d: { type: 'object', 'x-kubernetes-map-type': 'shallow' },
          },
        }),
      ).to.deep.equal([
        `${SPEC}.properties[a].x-kubernetes-list-type: Unsupported value: "bag": supported values: "atomic", "map", "set"`,
        `${SPEC}.properties[b].x-kubernetes-list-map-keys: Required value: must not be empty if x-kubernetes-list-type is map`,
        `${SPEC}.properties[c].x-kubernetes-list-type: Invalid value: "set": must only be used if type is array`,
        `${SPEC}.properties[d].x-kubernetes-map-type: Unsupported value: "shallow": supported values: "atomic", "granular"`,
      ]);
    });
  });

  describe('4. metadata at the root', () => {
    it('allows restricting name and generateName only', () => {
      const ok = crdWith({ type: 'object' });
      const okProps = (ok.spec as { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] }).versions[0]!.schema.openAPIV3Schema.properties;
      okProps.metadata = { type: 'object', properties: { name: { type: 'string', maxLength: 40 }, generateName: { type: 'string' } } };
      expect(lines(crdDefinitionProblems(ok))).to.deep.equal([]);
      okProps.metadata = { type: 'object', properties: { name: { type: 'string' }, labels: { type: 'object' } }, required: ['name'] };
      expect(lines(crdDefinitionProblems(ok))).to.deep.equal([
        `${ROOT}.properties[metadata]: Forbidden: must not specify anything other than metadata.name and metadata.generateName (found required, properties[labels])`,
      ]);
      okProps.metadata = { type: 'string' };
      okProps.kind = { type: 'integer' };
      expect(lines(crdDefinitionProblems(ok))).to.deep.equal([
        `${ROOT}.properties[kind].type: Invalid value: "integer": must be string`,
        `${ROOT}.properties[metadata].type: Invalid value: "string": must be object`,
      ]);
    });
  });

  describe('5. defaults', () => {
    it('requires a default to validate against its own schema, unknown fields included', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: {
            good: { type: 'integer', default: 3, minimum: 1 },
            low: { type: 'integer', default: 0, minimum: 1 },
            word: { type: 'integer', default: 'three' },
            obj: { type: 'object', properties: { a: { type: 'string' } }, default: { a: 'x', b: 1 } },
            color: { type: 'string', enum: ['red'], default: 'blue' },
          },
        }),
      ).to.deep.equal([
        `${SPEC}.properties[low].default: Invalid value: 0: does not validate against its own schema: default: Invalid value: 0: default in body should be greater than or equal to 1`,
        `${SPEC}.properties[word].default: Invalid value: "three": does not validate against its own schema: default: Invalid value: "string": default in body must be of type integer: "string"`,
        `${SPEC}.properties[obj].default: Invalid value: {"a":"x","b":1}: does not validate against its own schema: default.b: field not declared in schema`,
        `${SPEC}.properties[color].default: Invalid value: "blue": does not validate against its own schema: default: Unsupported value: "blue": supported values: "red"`,
      ]);
    });

    it('forbids defaults in the top-level metadata', () => {
      const crd = crdWith({ type: 'object' });
      const props = (crd.spec as { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } } }[] }).versions[0]!.schema.openAPIV3Schema.properties;
      props.metadata = { type: 'object', properties: { name: { type: 'string', default: 'gizmo' } } };
      expect(lines(crdDefinitionProblems(crd))).to.deep.equal([
        `${ROOT}.properties[metadata].properties[name].default: Forbidden: must not be set in top-level metadata`,
      ]);
    });
  });

  describe('6. x-kubernetes-validations', () => {
    it('requires a rule, a known reason and a relative fieldPath to a declared field', () => {
      expect(
        problemsOf({
          type: 'object',
          properties: { a: { type: 'string' }, m: { type: 'object', additionalProperties: { type: 'string' } } },
          'x-kubernetes-validations': [
            { rule: 'has(self.a)', reason: 'FieldValueRequired', fieldPath: '.a' },
            { rule: "self.m.all(k, k != '')", fieldPath: ".m['x.y']" },
            { rule: '  ' },
            { rule: 'true', reason: 'FieldValueWrong' },
            { rule: 'true', fieldPath: 'a' },
            { rule: 'true', fieldPath: '.b' },
            { rule: 'true', fieldPath: '.a[0]' },
          ],
        }),
      ).to.deep.equal([
        `${SPEC}.x-kubernetes-validations[2].rule: Required value: a CEL rule is required`,
        `${SPEC}.x-kubernetes-validations[3].reason: Unsupported value: "FieldValueWrong": supported values: "FieldValueDuplicate", "FieldValueForbidden", "FieldValueInvalid", "FieldValueRequired"`,
        `${SPEC}.x-kubernetes-validations[4].fieldPath: Invalid value: "a": fieldPath must be a relative JSON path starting with "."`,
        `${SPEC}.x-kubernetes-validations[5].fieldPath: Invalid value: ".b": fieldPath must refer to a field declared in the schema (no "b" here)`,
        `${SPEC}.x-kubernetes-validations[6].fieldPath: Invalid value: ".a[0]": fieldPath must not use list indices or unquoted keys`,
      ]);
    });
  });

  describe('7. additionalPrinterColumns', () => {
    it('requires name, jsonPath and a known type and format; names are unique', () => {
      const columns = [
        { name: 'Ok', type: 'integer', format: 'int32', jsonPath: '.spec.replicas' },
        { type: 'string', jsonPath: '.spec.a' },
        { name: 'NoPath', type: 'string' },
        { name: 'Kind', type: 'object', jsonPath: '.spec.a' },
        { name: 'Fmt', type: 'string', format: 'email', jsonPath: '.spec.a' },
        { name: 'Abs', type: 'string', jsonPath: 'spec.a' },
        { name: 'Ok', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        { name: 'Untyped', jsonPath: '.spec.a' },
      ];
      expect(problemsOf({ type: 'object' }, { additionalPrinterColumns: columns })).to.deep.equal([
        'spec.versions[0].additionalPrinterColumns[1].name: Required value: a column needs a name',
        'spec.versions[0].additionalPrinterColumns[2].jsonPath: Required value: a column needs a jsonPath',
        'spec.versions[0].additionalPrinterColumns[3].type: Unsupported value: "object": supported values: "boolean", "date", "integer", "number", "string"',
        'spec.versions[0].additionalPrinterColumns[4].format: Unsupported value: "email": supported values: "byte", "date", "date-time", "double", "float", "int32", "int64", "password"',
        'spec.versions[0].additionalPrinterColumns[5].jsonPath: Invalid value: "spec.a": must be a simple json path starting with .',
        'spec.versions[0].additionalPrinterColumns[6].name: Duplicate value: "Ok"',
        'spec.versions[0].additionalPrinterColumns[7].type: Required value: must be one of "boolean", "date", "integer", "number", "string"',
      ]);
    });
  });

  describe('8. subresources', () => {
    it('takes status as {} only and scale paths under .spec/.status', () => {
      expect(problemsOf({ type: 'object' }, { subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } } })).to.deep.equal([]);
      expect(problemsOf({ type: 'object' }, { subresources: { status: { enabled: true }, scale: { specReplicasPath: '.status.replicas', labelSelectorPath: 'spec.selector' } } })).to.deep.equal([
        'spec.versions[0].subresources.status: Invalid value: {"enabled":true}: the status subresource takes no settings; must be {}',
        'spec.versions[0].subresources.scale.specReplicasPath: Invalid value: ".status.replicas": should be a json path under .spec',
        'spec.versions[0].subresources.scale.statusReplicasPath: Required value',
        'spec.versions[0].subresources.scale.labelSelectorPath: Invalid value: "spec.selector": should be a json path under .spec or .status',
      ]);
    });
  });

  describe('through the test API server', () => {
    let server: TestApiServer;
    before(async () => {
      server = await TestApiServer.start();
    });
    after(async () => {
      await server.stop();
    });

    async function createCrd(crd: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
      const res = await fetch(`${server.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.adminToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(crd),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    }

    it('has loaded every real CRD (Cilium and ours) at start', () => {
      for (const name of ['ciliumnetworkpolicies.cilium.io', 'ciliumclusterwidenetworkpolicies.cilium.io', 'networkprofiles.network-policy.homelab', 'sharedservices.network-policy.homelab', 'networkbaselines.network-policy.homelab']) {
        expect(server.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, name), name).to.not.equal(undefined);
      }
    });

    it('refuses a non-structural CRD with 422 and the field path, and accepts it once fixed', async () => {
      const refused = await createCrd(crdWith({ type: 'object', properties: { size: { minimum: 1 } } }));
      expect(refused.status).to.equal(422);
      expect(refused.body.reason).to.equal('Invalid');
      expect(refused.body.message).to.equal(
        `CustomResourceDefinition.apiextensions.k8s.io "gizmos.test.netpol.dev" is invalid: ${SPEC}.properties[size].type: Required value: must not be empty for specified object fields`,
      );
      expect((refused.body.details as { causes: unknown[] }).causes).to.deep.equal([
        { reason: 'FieldValueRequired', message: 'Required value: must not be empty for specified object fields', field: `${SPEC}.properties[size].type` },
      ]);
      expect(server.get('apiextensions.k8s.io/v1', 'CustomResourceDefinition', undefined, 'gizmos.test.netpol.dev')).to.equal(undefined);

      const accepted = await createCrd(crdWith({ type: 'object', properties: { size: { type: 'integer', minimum: 1 } } }));
      expect(accepted.status).to.equal(201);
    });
  });
});
