// The catalog of served resources: the built-in kinds plus whatever the stored CRDs define.
import { crdDefinitionProblems } from './crd-rules.js';
import type { CustomResourceDefinition, CrdVersion } from '../../../src/kube/openapi.js';
import { CEL_RULES } from '../cel.js';
import { builtinResourceTypes } from './builtins.js';
import type { FieldError } from './errors.js';
import { crdColumns } from './table.js';
import { isRecord, type KubeObject, type ResourceType } from './types.js';
import { dnsLabelErrors, dnsSubdomainErrors } from './validation.js';

/** Order the real server lists its built-in groups in (then CRD groups, alphabetically). */
const BUILTIN_GROUP_ORDER = ['', 'apps', 'events.k8s.io', 'authorization.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'coordination.k8s.io', 'admissionregistration.k8s.io', 'apiextensions.k8s.io'];

export class ResourceCatalog {
  private readonly types = new Map<string, ResourceType>();
  private readonly crdTypes = new Map<string, ResourceType[]>();

  constructor() {
    for (const rt of builtinResourceTypes()) this.add(rt);
  }

  private static key(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  private add(rt: ResourceType): void {
    this.types.set(ResourceCatalog.key(rt.group, rt.version, rt.plural), rt);
  }

  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.get(ResourceCatalog.key(group, version, plural));
  }

  all(): ResourceType[] {
    return [...this.types.values()];
  }

  /** The group/version pairs served, in discovery order. */
  groups(): { group: string; versions: string[]; preferred: string }[] {
    const byGroup = new Map<string, Set<string>>();
    for (const rt of this.types.values()) {
      if (!byGroup.has(rt.group)) byGroup.set(rt.group, new Set());
      byGroup.get(rt.group)!.add(rt.version);
    }
    const names = [...byGroup.keys()].sort((a, b) => {
      const ia = BUILTIN_GROUP_ORDER.indexOf(a);
      const ib = BUILTIN_GROUP_ORDER.indexOf(b);
      if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
      return a < b ? -1 : a > b ? 1 : 0;
    });
    return names.map((group) => {
      const versions = [...byGroup.get(group)!].sort(compareKubeVersions);
      return { group, versions, preferred: versions[0]! };
    });
  }

  resourcesOf(group: string, version: string): ResourceType[] {
    return [...this.types.values()].filter((rt) => rt.group === group && rt.version === version);
  }

  /** Serves (or re-serves, after an update) the resources of an established CRD. */
  serveCrd(crd: CustomResourceDefinition): void {
    this.unserveCrd(crd.metadata.name);
    const types = crdResourceTypes(crd);
    for (const rt of types) this.add(rt);
    this.crdTypes.set(crd.metadata.name, types);
  }

  unserveCrd(name: string): ResourceType[] {
    const types = this.crdTypes.get(name) ?? [];
    for (const rt of types) this.types.delete(ResourceCatalog.key(rt.group, rt.version, rt.plural));
    this.crdTypes.delete(name);
    return types;
  }

  /** Whether a CRD would take names a built-in kind already has. */
  collidesWithBuiltin(group: string, plural: string): boolean {
    return [...this.types.values()].some((rt) => !rt.custom && rt.group === group && rt.plural === plural);
  }
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first, then non-kube versions alphabetically. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return { rank: 0, major: 0, minor: 0, raw: v };
    const rank = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return { rank, major: Number(m[1]), minor: Number(m[3] ?? 0), raw: v };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa.rank !== pb.rank) return pb.rank - pa.rank;
  if (pa.rank === 0) return pa.raw < pb.raw ? -1 : pa.raw > pb.raw ? 1 : 0;
  if (pa.major !== pb.major) return pb.major - pa.major;
  return pb.minor - pa.minor;
}

function storageVersion(crd: CustomResourceDefinition): CrdVersion {
  return crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0]!;
}

function crdResourceTypes(crd: CustomResourceDefinition): ResourceType[] {
  const { group, names, scope } = crd.spec;
  const storage = storageVersion(crd);
  const storageApiVersion = `${group}/${storage.name}`;
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => {
      const apiVersion = `${group}/${v.name}`;
      const rt: ResourceType = {
        group,
        version: v.name,
        plural: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        namespaced: scope === 'Namespaced',
        shortNames: names.shortNames ?? [],
        categories: names.categories ?? [],
        storageKey: `${group}/${names.plural}`,
        hasStatusSubresource: v.subresources?.status !== undefined,
        tracksGeneration: true,
        generationIgnores: v.subresources?.status !== undefined ? ['status'] : [],
        custom: true,
        columns: crdColumns(v.additionalPrinterColumns),
      };
      if (v.schema?.openAPIV3Schema) rt.schema = v.schema.openAPIV3Schema;
      if (v.additionalPrinterColumns) rt.printerColumns = v.additionalPrinterColumns;
      if (apiVersion !== storageApiVersion) {
        // Conversion strategy None: only apiVersion changes between versions.
        rt.conversion = {
          toStorage: (obj) => ({ ...obj, apiVersion: storageApiVersion }),
          fromStorage: (obj) => ({ ...obj, apiVersion }),
        };
      }
      return rt;
    });
}

/** Server-side defaults of a CRD's spec (names.singular/listKind, conversion). Mutates `crd`. */
export function defaultCrd(crd: KubeObject): void {
  const spec = crd.spec;
  if (!isRecord(spec)) return;
  const names = spec.names;
  if (isRecord(names) && typeof names.kind === 'string') {
    if (names.singular === undefined) names.singular = names.kind.toLowerCase();
    if (names.listKind === undefined) names.listKind = `${names.kind}List`;
  }
  if (spec.conversion === undefined) spec.conversion = { strategy: 'None' };
}

/** The real server's CRD validation: names, versions and (crd-rules.ts) schemas, columns, subresources (422 Invalid when violated). */
export function validateCrd(crd: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec = isRecord(crd.spec) ? crd.spec : {};
  const names = isRecord(spec.names) ? spec.names : {};
  const group = spec.group;
  if (typeof group !== 'string' || group === '') {
    errors.push({ path: 'spec.group', message: 'Required value' });
  } else {
    if (dnsSubdomainErrors(group).length > 0) errors.push({ path: 'spec.group', message: `Invalid value: ${JSON.stringify(group)}: ${dnsSubdomainErrors(group)[0]}` });
    if (!group.includes('.')) errors.push({ path: 'spec.group', message: `Invalid value: ${JSON.stringify(group)}: should be a domain with at least one dot` });
  }
  const plural = names.plural;
  if (typeof plural !== 'string' || plural === '') errors.push({ path: 'spec.names.plural', message: 'Required value' });
  else if (dnsLabelErrors(plural).length > 0) errors.push({ path: 'spec.names.plural', message: `Invalid value: ${JSON.stringify(plural)}: ${dnsLabelErrors(plural)[0]}` });
  if (typeof names.kind !== 'string' || names.kind === '') errors.push({ path: 'spec.names.kind', message: 'Required value' });
  if (typeof names.singular === 'string' && dnsLabelErrors(names.singular).length > 0) {
    errors.push({ path: 'spec.names.singular', message: `Invalid value: ${JSON.stringify(names.singular)}: ${dnsLabelErrors(names.singular)[0]}` });
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errors.push({ path: 'spec.scope', message: `Unsupported value: ${JSON.stringify(spec.scope ?? '')}: supported values: "Cluster", "Namespaced"` });
  }
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) {
    errors.push({ path: 'spec.versions', message: 'Invalid value: null: must have exactly one version marked as storage version' });
  } else {
    const storage = versions.filter((v: unknown) => isRecord(v) && v.storage === true).length;
    if (storage !== 1) {
      errors.push({ path: 'spec.versions', message: `Invalid value: ${JSON.stringify(versions.map((v: unknown) => (isRecord(v) ? v.name : null)))}: must have exactly one version marked as storage version` });
    }
    versions.forEach((v: unknown, i) => {
      if (!isRecord(v)) return;
      if (typeof v.name !== 'string' || v.name === '') errors.push({ path: `spec.versions[${i}].name`, message: 'Required value' });
      if (typeof v.served !== 'boolean') errors.push({ path: `spec.versions[${i}].served`, message: 'Required value' });
    });
  }
  // Schemas (required, structural), printer columns and subresources, as the real server checks them.
  errors.push(...crdDefinitionProblems(crd));
  if (errors.length === 0) errors.push(...celRuleProblems(versions));
  if (typeof plural === 'string' && typeof group === 'string' && crd.metadata.name !== `${plural}.${group}`) {
    errors.push({ path: 'metadata.name', message: `Invalid value: ${JSON.stringify(crd.metadata.name)}: must be spec.names.plural+"."+spec.group` });
  }
  return errors;
}

/** Rules (and messageExpressions) that do not compile: the server refuses the CRD ("compilation failed"). */
function celRuleProblems(versions: unknown[]): FieldError[] {
  const errors: FieldError[] = [];
  const visit = (node: unknown, path: string) => {
    if (!isRecord(node)) return;
    const rules = Array.isArray(node['x-kubernetes-validations']) ? (node['x-kubernetes-validations'] as unknown[]) : [];
    rules.forEach((rule, i) => {
      if (!isRecord(rule) || typeof rule.rule !== 'string') return;
      const rulePath = `${path}.x-kubernetes-validations[${i}]`;
      try {
        CEL_RULES.compile(rule.rule);
      } catch (e) {
        errors.push({ path: `${rulePath}.rule`, message: `Invalid value: ${JSON.stringify(rule.rule)}: compilation failed: ${(e as Error).message}` });
      }
      if (typeof rule.messageExpression === 'string' && rule.messageExpression !== '') {
        try {
          CEL_RULES.compile('true', rule.messageExpression);
        } catch (e) {
          errors.push({ path: `${rulePath}.messageExpression`, message: `Invalid value: ${JSON.stringify(rule.messageExpression)}: messageExpression compilation failed: ${(e as Error).message}` });
        }
      }
    });
    for (const [key, child] of Object.entries(isRecord(node.properties) ? node.properties : {})) visit(child, `${path}.properties[${key}]`);
    if (node.items !== undefined) visit(node.items, `${path}.items`);
    if (isRecord(node.additionalProperties)) visit(node.additionalProperties, `${path}.additionalProperties`);
  };
  versions.forEach((v, i) => {
    if (isRecord(v) && isRecord(v.schema)) visit(v.schema.openAPIV3Schema, `spec.versions[${i}].schema.openAPIV3Schema`);
  });
  return errors;
}

/** The status a CRD gets once its names are accepted and it is established (instant here). */
export function establishedCrdStatus(crd: KubeObject, now: string): Record<string, unknown> {
  const spec = crd.spec as CustomResourceDefinition['spec'];
  const stored = isRecord(crd.status) && Array.isArray(crd.status.storedVersions) ? (crd.status.storedVersions as string[]) : [];
  const storage = spec.versions.find((v) => v.storage)?.name;
  const storedVersions = storage && !stored.includes(storage) ? [...stored, storage] : stored;
  return {
    acceptedNames: { ...spec.names },
    conditions: [
      { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
      { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
    ],
    storedVersions,
  };
}

