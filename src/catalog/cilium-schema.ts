// Checks catalog rule content against Cilium's own v2 schemas, so a rule Cilium would reject, or a
// misspelt field Cilium would silently prune (turning `toEntitie: [world]` + `toPorts` into "any
// destination on that port"), is refused before it can open traffic. The schemas are extracted
// from Cilium's CRDs into cilium-policy-schema.generated.ts (see `extractPolicySchemas`).

import { formatSchemaError, validateSchema, type JsonSchema } from '../kube/openapi.js';
import { CILIUM_POLICY_SCHEMAS } from './cilium-policy-schema.generated.js';

export interface CiliumPolicySchemas {
  /** Cilium version the schemas come from. */
  source: string;
  ingressRule: JsonSchema;
  egressRule: JsonSchema;
  /** The whole CiliumClusterwideNetworkPolicy `spec`. */
  clusterwideSpec: JsonSchema;
}

export type SchemaTarget = 'ingress' | 'egress' | 'clusterwideSpec';

/** Problems of `value` against Cilium's schema, as `field.path: message` lines (without `spec.`). */
export function ciliumSchemaProblems(target: SchemaTarget, value: unknown): string[] {
  if (target === 'clusterwideSpec') {
    return validateSchema(CILIUM_POLICY_SCHEMAS.clusterwideSpec, value).map(formatSchemaError);
  }
  const schema: JsonSchema = {
    type: 'array',
    items: target === 'ingress' ? CILIUM_POLICY_SCHEMAS.ingressRule : CILIUM_POLICY_SCHEMAS.egressRule,
  };
  return validateSchema(schema, value).map((error) => `${target}${error.path.startsWith('[') ? '' : '.'}${formatSchemaError(error)}`);
}

/** Drops the documentation of a schema node and its children (not fields that are named `description`). */
function stripDescriptions(schema: JsonSchema): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'description') continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([name, sub]) => [name, stripDescriptions(sub)]));
    } else if (['items', 'not'].includes(key) || (key === 'additionalProperties' && typeof value === 'object')) {
      out[key] = stripDescriptions(value as JsonSchema);
    } else if (['anyOf', 'oneOf', 'allOf'].includes(key)) {
      out[key] = (value as JsonSchema[]).map(stripDescriptions);
    } else {
      out[key] = value;
    }
  }
  return out as JsonSchema;
}

interface CrdLike {
  spec: { names: { kind: string }; versions: Array<{ name: string; schema?: { openAPIV3Schema?: JsonSchema } }> };
}

/** Pulls the rule and spec schemas out of Cilium's CNP and CCNP CRDs (descriptions dropped). */
export function extractPolicySchemas(cnp: CrdLike, ccnp: CrdLike, source: string): CiliumPolicySchemas {
  const specOf = (crd: CrdLike): JsonSchema => {
    const version = crd.spec.versions.find((v) => v.name === 'v2');
    const spec = version?.schema?.openAPIV3Schema?.properties?.spec;
    if (!spec) throw new Error(`${crd.spec.names.kind} CRD has no v2 spec schema`);
    return stripDescriptions(spec);
  };
  const cnpSpec = narrowToMinimumCilium(specOf(cnp));
  const ingressRule = cnpSpec.properties?.ingress?.items;
  const egressRule = cnpSpec.properties?.egress?.items;
  if (!ingressRule || !egressRule) throw new Error('CiliumNetworkPolicy CRD has no ingress/egress rule schema');
  return {
    source: `${source}, narrowed to what Cilium ${MINIMUM_CILIUM_VERSION} accepts`,
    ingressRule,
    egressRule,
    clusterwideSpec: narrowToMinimumCilium(specOf(ccnp)),
  };
}

/** The oldest Cilium the catalog must work on (SPEC section 1). */
export const MINIMUM_CILIUM_VERSION = '1.18';

// What Cilium 1.19's v2 schema accepts and 1.18's does not: the VRRP and IGMP port protocols, and a
// port entry without `port` (required in 1.18). A policy using them is refused by a 1.18 API server,
// so the operator's write would fail there: the catalog refuses them up front. 1.19 has no property
// 1.18 lacks, so nothing an older CRD would prune (and so silently widen) can get through.
const PROTOCOLS_AFTER_MINIMUM = ['VRRP', 'IGMP'];

/** The schemas narrowed to what the minimum Cilium version accepts. */
function narrowToMinimumCilium(schema: JsonSchema): JsonSchema {
  const visit = (node: JsonSchema): JsonSchema => {
    const out: Record<string, unknown> = { ...node };
    const properties = node.properties;
    if (properties) {
      const next: Record<string, JsonSchema> = {};
      for (const [name, sub] of Object.entries(properties)) {
        let child = visit(sub);
        if (name === 'protocol' && Array.isArray(child.enum)) {
          child = { ...child, enum: child.enum.filter((value) => !PROTOCOLS_AFTER_MINIMUM.includes(String(value))) };
        }
        next[name] = child;
      }
      out.properties = next;
      if (properties.port && properties.protocol && properties.endPort && !node.required) out.required = ['port'];
    }
    if (node.items) out.items = visit(node.items);
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      if (Array.isArray(node[key])) out[key] = (node[key] as JsonSchema[]).map(visit);
    }
    return out as JsonSchema;
  };
  return visit(schema);
}
