// Small pure generators, one per kind of generated object (SPEC section 4). Each returns a complete
// CNP/CCNP stamped with the ownership labels; specs are canonical (sorted keys) and shared between
// objects where they do not depend on the namespace, which keeps rendering 10,000 namespaces cheap.
// Generated objects are never mutated after rendering.

import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, type LabelKeys, type RenderConfig } from '../config.js';
import type { NetworkBaseline, NetworkProfile, ServicePort, SharedService } from '../catalog/types.js';
import {
  CILIUM_API_VERSION,
  type CiliumPolicySpec,
  type CiliumRule,
  type LabelSelector,
  type PolicyKind,
  type PolicyObject,
} from '../kube/types.js';
import { canonicalize } from './canonical.js';

export type SourceType = 'profile' | 'access' | 'access-ingress' | 'baseline' | 'escape-hatch';
export const SOURCE_TYPES: readonly SourceType[] = ['profile', 'access', 'access-ingress', 'baseline', 'escape-hatch'];

export const ESCAPE_HATCH_POLICY_NAME = 'escape-hatch-allow-all';
export const POD_NAMESPACE_LABEL = 'k8s:io.kubernetes.pod.namespace';
export const NAMESPACE_LABEL_PREFIX = 'io.cilium.k8s.namespace.labels.';

export const profilePolicyName = (profile: string): string => `profile-${profile}`;
export const accessPolicyName = (service: string): string => `access-${service}`;
export const accessIngressPolicyName = (service: string): string => `access-${service}-ingress`;
export const baselinePolicyName = (baseline: string): string => `baseline-${baseline}`;

export function generatedFromValue(type: SourceType, source: string): string {
  return `${type}.${source}`;
}

/** Reads a `generated-from` label value back; undefined when it is not one of ours. */
export function parseGeneratedFrom(value: string | undefined): { type: SourceType; source: string } | undefined {
  if (value === undefined) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const type = value.slice(0, dot) as SourceType;
  if (!SOURCE_TYPES.includes(type)) return undefined;
  return { type, source: value.slice(dot + 1) };
}

/** The kind and name the renderer gives an object generated from `source`; undefined if it makes none. */
function generatedIdentity(source: { type: SourceType; source: string }): { kind: PolicyKind; name: string } | undefined {
  switch (source.type) {
    case 'profile':
      return { kind: 'CiliumNetworkPolicy', name: profilePolicyName(source.source) };
    case 'access':
      return { kind: 'CiliumNetworkPolicy', name: accessPolicyName(source.source) };
    case 'access-ingress':
      return { kind: 'CiliumNetworkPolicy', name: accessIngressPolicyName(source.source) };
    case 'baseline':
      return { kind: 'CiliumClusterwideNetworkPolicy', name: baselinePolicyName(source.source) };
    case 'escape-hatch':
      return source.source === 'allow-all' ? { kind: 'CiliumClusterwideNetworkPolicy', name: ESCAPE_HATCH_POLICY_NAME } : undefined;
  }
}

/**
 * What an object was generated from, when it is one the renderer makes: its `generated-from` names
 * a source, and its kind and name are the ones that source gives. An object with our managed-by
 * label that fails this (no or an unknown `generated-from`, a name or kind that does not match) is
 * not one we would generate: the operator prunes it, whatever it claims to come from.
 */
export function generatedSource(
  object: { kind?: string; metadata?: { name?: string; labels?: Readonly<Record<string, string>> } },
  keys: Pick<LabelKeys, 'generatedFrom'>,
): { type: SourceType; source: string } | undefined {
  const source = parseGeneratedFrom(object.metadata?.labels?.[keys.generatedFrom]);
  if (!source) return undefined;
  const identity = generatedIdentity(source);
  return identity && identity.kind === object.kind && identity.name === object.metadata?.name ? source : undefined;
}

function policyObject(
  kind: PolicyKind,
  name: string,
  namespace: string | undefined,
  keys: LabelKeys,
  type: SourceType,
  source: string,
  spec: CiliumPolicySpec,
): PolicyObject {
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [keys.generatedFrom]: generatedFromValue(type, source) };
  const metadata = namespace === undefined ? { name, labels } : { name, namespace, labels };
  return { apiVersion: CILIUM_API_VERSION, kind, metadata, spec };
}

// A direction with a section but no allow rule: Cilium's way of "default-deny, allow nothing".
const denyAll = (): CiliumRule[] => [{}];

/**
 * On objects that only add access (`access-<S>`, `access-<S>-ingress`): the rules allow, but never
 * turn on default-deny for the endpoints they select, so a grant cannot cut other traffic.
 */
export const ADDITIVE_ONLY = { egress: false, ingress: false } as const;

const profileSpecs = new WeakMap<NetworkProfile, CiliumPolicySpec>();

/** `profile-<P>`: the profile's rules for every endpoint of the namespace, both directions enforced. */
export function renderProfilePolicy(namespace: string, profile: NetworkProfile, keys: LabelKeys): PolicyObject {
  let spec = profileSpecs.get(profile);
  if (!spec) {
    spec = {
      description: `netpol-profiles: NetworkProfile ${profile.name}`,
      egress: profile.egress.length > 0 ? [...profile.egress] : denyAll(),
      endpointSelector: {},
      ingress: profile.ingress.length > 0 ? [...profile.ingress] : denyAll(),
    };
    profileSpecs.set(profile, spec);
  }
  return policyObject('CiliumNetworkPolicy', profilePolicyName(profile.name), namespace, keys, 'profile', profile.name, spec);
}

function toPorts(ports: readonly ServicePort[]): CiliumRule[] {
  return [{ ports: ports.map((port) => canonicalize(port)) }];
}

/** The service's pods as a Cilium selector that names their namespace (so it works from any CNP). */
function servicePodSelector(namespace: string, podSelector: LabelSelector): LabelSelector {
  return canonicalize({
    ...podSelector,
    matchLabels: { ...podSelector.matchLabels, [POD_NAMESPACE_LABEL]: namespace },
  }) as LabelSelector;
}

const accessSpecs = new WeakMap<SharedService, CiliumPolicySpec>();

/** `access-<S>`: egress from every endpoint of the namespace to the service, on its ports. */
export function renderAccessPolicy(namespace: string, service: SharedService, keys: LabelKeys): PolicyObject {
  let spec = accessSpecs.get(service);
  if (!spec) {
    const target = service.target;
    const rule: CiliumRule =
      target.kind === 'pods'
        ? { toEndpoints: [servicePodSelector(target.namespace, target.podSelector)], toPorts: toPorts(service.ports) }
        : { toEntities: [...target.entities], toPorts: toPorts(service.ports) };
    spec = {
      description: `netpol-profiles: SharedService ${service.name}`,
      egress: [rule],
      enableDefaultDeny: { ...ADDITIVE_ONLY },
      endpointSelector: {},
    };
    accessSpecs.set(service, spec);
  }
  return policyObject('CiliumNetworkPolicy', accessPolicyName(service.name), namespace, keys, 'access', service.name, spec);
}

/**
 * `access-<S>-ingress`: in the service's namespace, ingress to its pods from every granted
 * namespace. Undefined when the service does not manage ingress or nobody is granted.
 */
export function renderAccessIngressPolicy(
  service: SharedService,
  grantedNamespaces: readonly string[],
  keys: LabelKeys,
): PolicyObject | undefined {
  const target = service.target;
  if (!service.manageIngress || target.kind !== 'pods' || grantedNamespaces.length === 0) return undefined;
  const spec: CiliumPolicySpec = {
    description: `netpol-profiles: SharedService ${service.name} (ingress from granted namespaces)`,
    enableDefaultDeny: { ...ADDITIVE_ONLY },
    endpointSelector: target.podSelector,
    ingress: [
      {
        fromEndpoints: [
          { matchExpressions: [{ key: POD_NAMESPACE_LABEL, operator: 'In', values: [...new Set(grantedNamespaces)].sort() }] },
        ],
        toPorts: toPorts(service.ports),
      },
    ],
  };
  return policyObject(
    'CiliumNetworkPolicy',
    accessIngressPolicyName(service.name),
    target.namespace,
    keys,
    'access-ingress',
    service.name,
    spec,
  );
}

/**
 * `baseline-<B>`: the baseline's CCNP spec, with exclusions added to its endpointSelector so that it
 * never selects a protected namespace (by name), a `D/platform=true` namespace, or, when the
 * selector tests the profile label, a namespace whose profile label is invalid and that has no
 * profile policy (`unappliedProfiles`): to the baselines such a namespace is as if it had no profile
 * label. A baseline with a nodeSelector (host policy) is rendered as written.
 */
export function renderBaselinePolicy(baseline: NetworkBaseline, config: RenderConfig, unappliedProfiles: readonly string[] = []): PolicyObject {
  const { keys } = config;
  let spec = baseline.spec;
  const selector = spec.endpointSelector;
  if (selector !== undefined) {
    const testsProfile = selectorTestsNamespaceLabel(selector, keys.profile);
    const names = new Set(config.protectedNamespaces);
    if (testsProfile) for (const name of unappliedProfiles) names.add(name);
    const exclusions: NonNullable<LabelSelector['matchExpressions']> = [
      { key: POD_NAMESPACE_LABEL, operator: 'NotIn', values: [...names].sort() },
      { key: `k8s:${NAMESPACE_LABEL_PREFIX}${keys.platform}`, operator: 'NotIn', values: ['true'] },
    ];
    spec = canonicalize({
      ...spec,
      endpointSelector: { ...selector, matchExpressions: [...(selector.matchExpressions ?? []), ...exclusions] },
    }) as CiliumPolicySpec;
  }
  return policyObject('CiliumClusterwideNetworkPolicy', baselinePolicyName(baseline.name), undefined, keys, 'baseline', baseline.name, spec);
}

/** The selector tests namespace label `key` (with or without a `k8s:`/`any:` source). */
function selectorTestsNamespaceLabel(selector: LabelSelector, key: string): boolean {
  const wanted = `${NAMESPACE_LABEL_PREFIX}${key}`;
  const keysOf = [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)];
  return keysOf.some((raw) => raw.replace(/^(k8s|any):/, '') === wanted);
}

/**
 * `escape-hatch-allow-all`: allows everything for endpoints whose namespace carries
 * `enforcement=disabled`. Cilium evaluates the namespace label itself, so the hatch works while
 * the operator is down; deny rules elsewhere still win over it.
 */
export function renderEscapeHatchPolicy(keys: LabelKeys): PolicyObject {
  const spec: CiliumPolicySpec = {
    description: `netpol-profiles: escape hatch, allows all traffic for namespaces labelled ${keys.enforcement}=disabled`,
    egress: [{ toEntities: ['all'] }],
    endpointSelector: { matchLabels: { [`${NAMESPACE_LABEL_PREFIX}${keys.enforcement}`]: 'disabled' } },
    ingress: [{ fromEntities: ['all'] }],
  };
  return policyObject('CiliumClusterwideNetworkPolicy', ESCAPE_HATCH_POLICY_NAME, undefined, keys, 'escape-hatch', 'allow-all', spec);
}
