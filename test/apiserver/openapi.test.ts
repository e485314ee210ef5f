// Unit tests of the structural-schema validator against hand-written schemas and Cilium's real CRDs.
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crdSchema, formatSchemaError, validateSchema, type JsonSchema } from '../../src/kube/openapi.js';
import { applyDefaults, loadCrdFiles, pruneUnknownFields } from '../support/apiserver/crd-schema.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ciliumCrdDir = path.resolve(projectRoot, '../shared/cilium/crds');

function validCnp(): Record<string, unknown> {
  return {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'profile-standard', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'netpol-profiles' } },
    spec: {
      endpointSelector: {},
      ingress: [
        {
          fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'gateway' } }],
          toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }],
        },
      ],
      egress: [
        { toEntities: ['world'], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
        { toCIDR: ['169.254.0.0/16'] },
        {
          toEndpoints: [
            {
              matchExpressions: [{ key: 'k8s:io.kubernetes.pod.namespace', operator: 'In', values: ['kube-system'] }],
            },
          ],
          toPorts: [{ ports: [{ port: '53', protocol: 'UDP' }, { port: '53', protocol: 'TCP' }] }],
        },
      ],
    },
  };
}

describe('openapi: structural schema validation', () => {
  const crds = loadCrdFiles([ciliumCrdDir]);
  const cnpCrd = crds.find((c) => c.metadata.name === 'ciliumnetworkpolicies.cilium.io');
  const ccnpCrd = crds.find((c) => c.metadata.name === 'ciliumclusterwidenetworkpolicies.cilium.io');

  it('loads both Cilium CRDs with their storage-version schema', () => {
    expect(cnpCrd, 'CNP CRD').to.not.equal(undefined);
    expect(ccnpCrd, 'CCNP CRD').to.not.equal(undefined);
    expect(cnpCrd!.spec.names.kind).to.equal('CiliumNetworkPolicy');
    expect(crdSchema(cnpCrd!).type).to.equal('object');
    expect(crdSchema(cnpCrd!, 'v2')).to.equal(crdSchema(cnpCrd!));
    expect(() => crdSchema(cnpCrd!, 'v9')).to.throw(/no version v9/);
  });

  it('accepts a valid CiliumNetworkPolicy with no unknown fields', () => {
    expect(validateSchema(crdSchema(cnpCrd!), validCnp())).to.deep.equal([]);
  });

  it('accepts a valid CiliumClusterwideNetworkPolicy', () => {
    const ccnp = { ...validCnp(), kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'baseline-dns' } };
    expect(validateSchema(crdSchema(ccnpCrd!), ccnp)).to.deep.equal([]);
  });

  it('reports a bad protocol with its enum and path', () => {
    const cnp = validCnp() as { spec: { ingress: { toPorts: { ports: { protocol: string }[] }[] }[] } };
    cnp.spec.ingress[0]!.toPorts[0]!.ports[0]!.protocol = 'TCPX';
    const errors = validateSchema(crdSchema(cnpCrd!), cnp);
    expect(errors.map(formatSchemaError)).to.deep.equal([
      'spec.ingress[0].toPorts[0].ports[0].protocol: Unsupported value: "TCPX": supported values: "TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"',
    ]);
  });

  it('reports a port that matches neither a number nor a name', () => {
    const cnp = validCnp() as { spec: { egress: { toPorts: { ports: { port: unknown }[] }[] }[] } };
    cnp.spec.egress[0]!.toPorts[0]!.ports[0]!.port = '-1';
    const errors = validateSchema(crdSchema(cnpCrd!), cnp);
    expect(errors).to.have.length(1);
    expect(errors[0]!.path).to.equal('spec.egress[0].toPorts[0].ports[0].port');
    expect(errors[0]!.message).to.match(/^Invalid value: "-1": spec.egress\[0\].toPorts\[0\].ports\[0\].port in body should match '\^\(6553/);
  });

  it('accepts port "99999" exactly as the real server does (Cilium\'s pattern anchors only its first alternative)', () => {
    // `^(6553[0-5]|...|[0-9]{1,4})|(...)*[a-zA-Z](...)*$` matches the prefix "9999", so the API
    // server stores "99999" and only the Cilium agent rejects it. Renderers must check ports themselves.
    const cnp = validCnp() as { spec: { egress: { toPorts: { ports: { port: unknown }[] }[] }[] } };
    cnp.spec.egress[0]!.toPorts[0]!.ports[0]!.port = '99999';
    expect(validateSchema(crdSchema(cnpCrd!), cnp)).to.deep.equal([]);
  });

  it('reports a numeric port where the schema wants a string, and endPort above its maximum', () => {
    const cnp = validCnp() as { spec: { egress: { toPorts: { ports: Record<string, unknown>[] }[] }[] } };
    cnp.spec.egress[0]!.toPorts[0]!.ports[0] = { port: 443, endPort: 99999, protocol: 'TCP' };
    expect(validateSchema(crdSchema(cnpCrd!), cnp).map(formatSchemaError)).to.deep.equal([
      'spec.egress[0].toPorts[0].ports[0].port: Invalid value: "integer": spec.egress[0].toPorts[0].ports[0].port in body must be of type string: "integer"',
      'spec.egress[0].toPorts[0].ports[0].endPort: Invalid value: 99999: spec.egress[0].toPorts[0].ports[0].endPort in body should be less than or equal to 65535',
    ]);
  });

  it('reports unknown fields by default, ignores them on request, and prunes them', () => {
    const cnp = validCnp() as { spec: Record<string, unknown> & { ingress: Record<string, unknown>[] } };
    cnp.spec.ingresss = [];
    cnp.spec.ingress[0]!.fromEndpoint = [];
    const errors = validateSchema(crdSchema(cnpCrd!), cnp);
    expect(errors.map(formatSchemaError)).to.have.members([
      'spec.ingresss: field not declared in schema',
      'spec.ingress[0].fromEndpoint: field not declared in schema',
    ]);
    expect(validateSchema(crdSchema(cnpCrd!), cnp, { unknownFields: 'ignore' })).to.deep.equal([]);
    const pruned = pruneUnknownFields(crdSchema(cnpCrd!), cnp) as typeof cnp;
    expect(pruned.spec).to.not.have.property('ingresss');
    expect(pruned.spec.ingress[0]).to.not.have.property('fromEndpoint');
    expect(pruned).to.deep.equal(validCnp());
    expect(cnp.spec).to.have.property('ingresss'); // the input is not modified
  });

  it('reports the oneOf of endpointSelector/nodeSelector when both are missing', () => {
    const cnp = validCnp() as { spec: Record<string, unknown> };
    delete cnp.spec.endpointSelector;
    const messages = validateSchema(crdSchema(cnpCrd!), cnp).map(formatSchemaError);
    expect(messages).to.include('spec.endpointSelector: Required value');
    expect(messages).to.include(
      'spec: Invalid value: "object": spec in body must validate one and only one schema (oneOf). Found none valid',
    );
  });

  it('rejects a bad CIDR by format and an unknown entity by enum', () => {
    const cnp = validCnp() as { spec: { egress: Record<string, unknown>[] } };
    cnp.spec.egress[1] = { toCIDR: ['10.0.0.0/33'], toEntities: ['everything'] };
    const paths = validateSchema(crdSchema(cnpCrd!), cnp).map((e) => e.path);
    expect(paths).to.include('spec.egress[1].toCIDR[0]');
    expect(paths).to.include('spec.egress[1].toEntities[0]');
  });

  it('applies Cilium defaults (icmps family IPv4)', () => {
    const cnp = validCnp() as { spec: { egress: Record<string, unknown>[] } };
    cnp.spec.egress.push({ icmps: [{ fields: [{ type: 8 }] }] });
    const defaulted = applyDefaults(crdSchema(cnpCrd!), cnp) as typeof cnp;
    expect(defaulted.spec.egress[3]).to.deep.equal({ icmps: [{ fields: [{ type: 8, family: 'IPv4' }] }] });
    expect(validateSchema(crdSchema(cnpCrd!), defaulted)).to.deep.equal([]);
  });

  it('does not backtrack exponentially on hostile strings (RE2-like matching)', () => {
    const cnp = validCnp() as { spec: { egress: Record<string, unknown>[] } };
    cnp.spec.egress.push({ toFQDNs: [{ matchName: `${'a'.repeat(60)}!` }] });
    const paths = validateSchema(crdSchema(cnpCrd!), cnp).map((e) => e.path);
    expect(paths).to.include('spec.egress[3].toFQDNs[0].matchName');
  });
});

describe('openapi: keywords', () => {
  const schema: JsonSchema = {
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object' },
      spec: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 5 },
          count: { type: 'integer', format: 'int32', minimum: 1, exclusiveMaximum: true, maximum: 10, multipleOf: 2 },
          ratio: { type: 'number', nullable: true },
          port: { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] },
          tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set', maxItems: 3, minItems: 1 },
          rules: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['name'],
            items: { type: 'object', properties: { name: { type: 'string' }, v: { type: 'integer' } } },
          },
          labels: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 2, minProperties: 1 },
          free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'boolean' } } },
          template: {
            type: 'object',
            'x-kubernetes-embedded-resource': true,
            properties: { spec: { type: 'object', properties: { a: { type: 'string' } } } },
          },
          when: { type: 'string', format: 'date-time' },
          addr: { type: 'string', format: 'ipv6' },
          odd: { type: 'string', format: 'no-such-format' },
          color: { type: 'string', enum: ['red', 'green'] },
          neither: { not: { type: 'string' } },
          both: { allOf: [{ minimum: 2 }, { maximum: 4 }] },
        },
      },
    },
  };
  const ok = (spec: Record<string, unknown>) => validateSchema(schema, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'a', labels: { x: 'y' } }, spec });
  const messages = (spec: Record<string, unknown>) => ok(spec).map(formatSchemaError);

  it('accepts a full valid object', () => {
    expect(
      ok({
        name: 'abc',
        count: 4,
        ratio: null,
        port: 'http',
        tags: ['a', 'b'],
        rules: [{ name: 'x', v: 1 }, { name: 'y', v: 1 }],
        labels: { a: 'b' },
        free: { known: true, anything: { goes: 1 } },
        template: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { a: 'b' } },
        when: '2024-01-02T03:04:05Z',
        addr: '::1',
        odd: 'whatever',
        color: 'red',
        neither: 3,
        both: 3,
      }),
    ).to.deep.equal([]);
  });

  it('reports required, lengths and numeric bounds in the server\'s words', () => {
    expect(messages({})).to.deep.equal(['spec.name: Required value']);
    expect(messages({ name: '' })).to.deep.equal(['spec.name: Invalid value: "": spec.name in body should be at least 1 chars long']);
    expect(messages({ name: 'abcdef' })).to.deep.equal(['spec.name: Too long: may not be more than 5 bytes']);
    expect(messages({ name: 'a', count: 0 })).to.deep.equal(['spec.count: Invalid value: 0: spec.count in body should be greater than or equal to 1']);
    expect(messages({ name: 'a', count: 10 })).to.deep.equal(['spec.count: Invalid value: 10: spec.count in body should be less than 10']);
    expect(messages({ name: 'a', count: 3 })).to.deep.equal(['spec.count: Invalid value: 3: spec.count in body should be a multiple of 2']);
    expect(messages({ name: 'a', count: 2.5 })).to.deep.equal(['spec.count: Invalid value: "number": spec.count in body must be of type integer: "number"']);
    expect(messages({ name: 'a', ratio: 'x' })).to.deep.equal(['spec.ratio: Invalid value: "string": spec.ratio in body must be of type number: "string"']);
  });

  it('reports int-or-string, enum, formats and composition', () => {
    expect(messages({ name: 'a', port: true }).map((m) => m.split(':')[0])).to.include('spec.port');
    expect(messages({ name: 'a', color: 'blue' })).to.deep.equal(['spec.color: Unsupported value: "blue": supported values: "red", "green"']);
    expect(messages({ name: 'a', when: 'yesterday' })).to.deep.equal([
      'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
    ]);
    expect(messages({ name: 'a', addr: '10.0.0.1' })).to.have.length(1);
    expect(messages({ name: 'a', neither: 'str' })).to.deep.equal([
      'spec.neither: Invalid value: "string": spec.neither in body must not validate the schema (not)',
    ]);
    expect(messages({ name: 'a', both: 5 })).to.deep.equal(['spec.both: Invalid value: 5: spec.both in body should be less than or equal to 4']);
  });

  it('reports list sizes, set and map uniqueness', () => {
    expect(messages({ name: 'a', tags: [] })).to.deep.equal(['spec.tags: Invalid value: 0: spec.tags in body should have at least 1 items']);
    expect(messages({ name: 'a', tags: ['a', 'b', 'c', 'd'] })).to.deep.equal(['spec.tags: Too many: 4: must have at most 3 items']);
    expect(messages({ name: 'a', tags: ['a', 'a'] })).to.deep.equal(['spec.tags[1]: Duplicate value: "a"']);
    expect(messages({ name: 'a', rules: [{ name: 'x', v: 1 }, { name: 'x', v: 2 }] })).to.deep.equal([
      'spec.rules[1]: Duplicate value: {"name":"x"}',
    ]);
  });

  it('checks maps, embedded resources and preserved fields', () => {
    expect(messages({ name: 'a', labels: { a: 1 } })).to.deep.equal(['spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"']);
    expect(messages({ name: 'a', labels: {} })).to.deep.equal(['spec.labels: Invalid value: 0: spec.labels in body should have at least 1 properties']);
    expect(messages({ name: 'a', labels: { a: 'x', b: 'y', c: 'z' } })).to.deep.equal(['spec.labels: Too many: 3: must have at most 2 items']);
    expect(messages({ name: 'a', template: { spec: {} } })).to.deep.equal([
      'spec.template.apiVersion: Required value: must not be empty',
      'spec.template.kind: Required value: must not be empty',
    ]);
    expect(messages({ name: 'a', free: { known: 'yes' } })).to.have.length(1);
    const pruned = pruneUnknownFields(schema, {
      kind: 'X',
      metadata: { name: 'a', whatever: 1 },
      spec: { name: 'a', extra: 1, free: { known: true, more: [1] }, template: { apiVersion: 'v1', kind: 'P', spec: { a: 'b', c: 'd' }, x: 1 } },
      status: {},
    });
    expect(pruned).to.deep.equal({
      kind: 'X',
      metadata: { name: 'a', whatever: 1 },
      spec: { name: 'a', free: { known: true, more: [1] }, template: { apiVersion: 'v1', kind: 'P', spec: { a: 'b' } } },
    });
  });

  it('drops nulls of non-nullable fields and keeps nullable ones when defaulting', () => {
    const value = { spec: { name: null, ratio: null } };
    applyDefaults(schema, value);
    expect(value).to.deep.equal({ spec: { ratio: null } });
  });

  it('reports a type mismatch at the root', () => {
    expect(validateSchema(schema, 'nope').map(formatSchemaError)).to.deep.equal([
      'Invalid value: "string":  in body must be of type object: "string"',
    ]);
  });
});

describe('openapi: patterns are Go (RE2) regular expressions', () => {
  const withPattern = (pattern: string): JsonSchema => ({ type: 'string', pattern });
  const valid = (pattern: string, value: string) => validateSchema(withPattern(pattern), value).length === 0;

  it('understands RE2 classes JavaScript spells differently or not at all (\\PC, \\pL, \\z, \\A)', () => {
    // Cilium's `log.value` pattern: no control or other invisible characters.
    expect(valid('^\\PC*$', 'drop to ssh, team A')).to.equal(true);
    expect(valid('^\\PC*$', 'bell\u0007')).to.equal(false);
    expect(valid('^\\pL+$', 'Größe')).to.equal(true);
    expect(valid('^\\pL+$', 'abc1')).to.equal(false);
    expect(valid('\\Aab\\z', 'ab')).to.equal(true);
    expect(valid('\\Aab\\z', 'abc')).to.equal(false);
  });

  it('matches anywhere in the value unless the pattern anchors itself, as Go does', () => {
    expect(valid('b', 'abc')).to.equal(true);
    expect(valid('^b', 'abc')).to.equal(false);
  });

  it('stays linear on patterns a backtracking engine takes exponential time on', () => {
    // A backtracking engine would not return from these before the test times out.
    const hostile = `${'a'.repeat(50_000)}!`;
    expect(valid('^([-a-zA-Z0-9_]+[.]?)+$', hostile)).to.equal(false);
    expect(valid('^(a|aa)*$', hostile)).to.equal(false);
  });
});
