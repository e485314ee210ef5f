// The catalog's CustomResourceDefinitions as data. `npm run generate` writes them to crds/; a test
// checks the files are current. Rule content embeds Cilium's own rule schemas so the API server
// rejects wrong types, unknown protocols and out-of-range ports, while every object node keeps
// unknown fields (instead of pruning them) so that a misspelt field reaches our validator and is
// refused, rather than silently vanishing and widening a rule.

import type { JsonSchema } from '../kube/openapi.js';
import { CILIUM_ENTITIES } from './validate.js';
import { CATALOG_GROUP, CATALOG_VERSION, MAX_CATALOG_NAME_LENGTH, PORT_PROTOCOLS } from './types.js';
import type { CiliumPolicySchemas } from './cilium-schema.js';

function preserveUnknownFields(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, preserveUnknownFields(value)]));
    if (schema.type === 'object') out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (schema.items) out.items = preserveUnknownFields(schema.items);
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    out.additionalProperties = preserveUnknownFields(schema.additionalProperties);
  }
  return out;
}

const CONDITIONS: JsonSchema = {
  type: 'array',
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  items: {
    type: 'object',
    required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
    properties: {
      type: { type: 'string', maxLength: 316 },
      status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
      observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
      lastTransitionTime: { type: 'string', format: 'date-time' },
      reason: { type: 'string', maxLength: 1024 },
      message: { type: 'string', maxLength: 32768 },
    },
  },
};

const USAGE_STATUS: JsonSchema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    namespaceCount: { type: 'integer', minimum: 0 },
    namespaces: { type: 'array', maxItems: 100, items: { type: 'string' } },
    conditions: CONDITIONS,
  },
};

const DESCRIPTION: JsonSchema = { type: 'string', maxLength: 1024 };

const PORT_PATTERN = '^([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$';

const NAME_RULE = {
  rule: `self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= ${MAX_CATALOG_NAME_LENGTH}`,
  message: `metadata.name must be a lowercase DNS label of at most ${MAX_CATALOG_NAME_LENGTH} characters`,
};

const LABEL_SELECTOR: JsonSchema = {
  type: 'object',
  properties: {
    matchLabels: { type: 'object', additionalProperties: { type: 'string', maxLength: 63 } },
    matchExpressions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string' },
          operator: { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
          values: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
};

interface CrdInput {
  kind: string;
  /** CEL rules on the whole object beside the name rule every kind has. */
  rules?: Array<{ rule: string; message: string }>;
  plural: string;
  shortNames: string[];
  spec: JsonSchema;
  status: JsonSchema;
  columns: Array<{ name: string; type: string; jsonPath: string; priority?: number; description?: string }>;
  description: string;
}

function crd(input: CrdInput): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${input.plural}.${CATALOG_GROUP}`,
      labels: { 'app.kubernetes.io/name': 'netpol-profiles', 'app.kubernetes.io/part-of': 'netpol-profiles' },
    },
    spec: {
      group: CATALOG_GROUP,
      names: {
        kind: input.kind,
        listKind: `${input.kind}List`,
        plural: input.plural,
        singular: input.kind.toLowerCase(),
        shortNames: input.shortNames,
        categories: ['netpol-profiles'],
      },
      scope: 'Cluster',
      versions: [
        {
          name: CATALOG_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: input.columns,
          schema: {
            openAPIV3Schema: {
              description: input.description,
              type: 'object',
              required: ['spec'],
              'x-kubernetes-validations': [NAME_RULE, ...(input.rules ?? [])],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: input.spec,
                status: input.status,
              },
            },
          },
        },
      ],
    },
  };
}

const AGE = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
const NAMESPACES = { name: 'Namespaces', type: 'integer', jsonPath: '.status.namespaceCount', description: 'namespaces that use it' };
const DESCRIPTION_COLUMN = { name: 'Description', type: 'string', jsonPath: '.spec.description' };
const READY = { name: 'Ready', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].status" };

// Cilium 1.17+ rejects a policy whose rule sections are all empty, older versions ignore an empty
// section: a NetworkBaseline's sections, when given, hold at least one rule.
function withNonEmptySections(spec: JsonSchema): JsonSchema {
  const properties = { ...spec.properties };
  for (const section of ['ingress', 'ingressDeny', 'egress', 'egressDeny']) {
    if (properties[section]) properties[section] = { ...properties[section], minItems: 1 };
  }
  return { ...spec, properties };
}

export function catalogCrds(cilium: CiliumPolicySchemas): Array<Record<string, unknown>> {
  const ingressRule = preserveUnknownFields(cilium.ingressRule);
  const egressRule = preserveUnknownFields(cilium.egressRule);
  const networkProfile = crd({
    kind: 'NetworkProfile',
    plural: 'networkprofiles',
    shortNames: ['nprof'],
    description: 'What a class of app may talk to. Namespaces opt in with the label <domain>/profile: <name>.',
    spec: {
      type: 'object',
      properties: {
        description: DESCRIPTION,
        ingress: {
          type: 'array',
          minItems: 1,
          description: 'Cilium ingress rules, copied into each namespace\'s profile-<name> CNP; omit for no ingress beyond the baselines.',
          items: ingressRule,
        },
        egress: {
          type: 'array',
          minItems: 1,
          description: 'Cilium egress rules, copied into each namespace\'s profile-<name> CNP; omit for no egress beyond the baselines.',
          items: egressRule,
        },
      },
    },
    status: USAGE_STATUS,
    columns: [NAMESPACES, AGE, DESCRIPTION_COLUMN, READY],
  });
  const sharedService = crd({
    kind: 'SharedService',
    plural: 'sharedservices',
    shortNames: ['shsvc'],
    // access-<name> of a service named <X>-ingress would be service <X>'s access-<X>-ingress.
    rules: [{ rule: "!self.metadata.name.endsWith('-ingress')", message: 'metadata.name may not end in -ingress: access-<name> would be the name of another service\'s ingress policy' }],
    description: 'A service namespaces may reach with the label access.<domain>/<name>: "true".',
    spec: {
      type: 'object',
      required: ['ports'],
      oneOf: [{ required: ['namespace'] }, { required: ['entities'] }],
      not: { anyOf: [{ required: ['entities', 'podSelector'] }, { required: ['entities', 'manageIngress'], properties: { manageIngress: { enum: [true] } } }] },
      properties: {
        description: DESCRIPTION,
        namespace: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'Namespace of the service pods.' },
        podSelector: { ...LABEL_SELECTOR, description: 'Pods of the service in its namespace; empty selects all.' },
        entities: {
          type: 'array',
          minItems: 1,
          description: 'Cilium entities standing for the service (instead of namespace/podSelector).',
          items: { type: 'string', enum: [...CILIUM_ENTITIES] },
        },
        ports: {
          type: 'array',
          minItems: 1,
          // Cilium accepts at most 40 ports in one toPorts entry of the generated policies.
          maxItems: 40,
          items: {
            type: 'object',
            required: ['port'],
            properties: {
              port: { type: 'string', pattern: PORT_PATTERN, description: 'Port number, 1-65535, as a string.' },
              protocol: { type: 'string', enum: [...PORT_PROTOCOLS], default: 'TCP' },
              endPort: { type: 'integer', format: 'int32', minimum: 1, maximum: 65535 },
            },
          },
        },
        manageIngress: { type: 'boolean', default: false, description: 'Also keep access-<name>-ingress in the service namespace in sync.' },
      },
    },
    status: USAGE_STATUS,
    columns: [NAMESPACES, { name: 'Target', type: 'string', jsonPath: '.spec.namespace' }, AGE, DESCRIPTION_COLUMN, READY],
  });
  const baseline = crd({
    kind: 'NetworkBaseline',
    plural: 'networkbaselines',
    shortNames: ['nbase'],
    description: 'A cluster-wide rule set, rendered as the CiliumClusterwideNetworkPolicy baseline-<name>.',
    spec: withNonEmptySections(preserveUnknownFields(cilium.clusterwideSpec)),
    status: { type: 'object', properties: { observedGeneration: { type: 'integer', format: 'int64' }, conditions: CONDITIONS } },
    columns: [READY, AGE, { name: 'Description', type: 'string', jsonPath: '.spec.description' }],
  });
  return [networkProfile, sharedService, baseline];
}
