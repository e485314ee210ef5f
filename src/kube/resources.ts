// The API resources the operator uses, with what the API paths need to know about each.

export interface ResourceRef {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const core = (plural: string, kind: string, namespaced: boolean): ResourceRef => ({ group: '', version: 'v1', plural, kind, namespaced });

export const RESOURCES = {
  namespaces: core('namespaces', 'Namespace', false),
  configMaps: core('configmaps', 'ConfigMap', true),
  events: { group: 'events.k8s.io', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  ciliumNetworkPolicies: { group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', kind: 'CiliumNetworkPolicy', namespaced: true },
  ciliumClusterwideNetworkPolicies: {
    group: 'cilium.io',
    version: 'v2',
    plural: 'ciliumclusterwidenetworkpolicies',
    kind: 'CiliumClusterwideNetworkPolicy',
    namespaced: false,
  },
  networkPolicies: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  networkProfiles: { group: 'network-policy.homelab', version: 'v1alpha1', plural: 'networkprofiles', kind: 'NetworkProfile', namespaced: false },
  sharedServices: { group: 'network-policy.homelab', version: 'v1alpha1', plural: 'sharedservices', kind: 'SharedService', namespaced: false },
  networkBaselines: { group: 'network-policy.homelab', version: 'v1alpha1', plural: 'networkbaselines', kind: 'NetworkBaseline', namespaced: false },
} as const satisfies Record<string, ResourceRef>;

export function apiVersionOf(resource: ResourceRef): string {
  return resource.group === '' ? resource.version : `${resource.group}/${resource.version}`;
}

/** `/api/v1/namespaces/ns/configmaps[/name]` or `/apis/group/version/plural[/name]`. */
export function resourcePath(resource: ResourceRef, namespace?: string, name?: string): string {
  const base = resource.group === '' ? `/api/${resource.version}` : `/apis/${resource.group}/${resource.version}`;
  const scoped = resource.namespaced && namespace !== undefined ? `${base}/namespaces/${encodeURIComponent(namespace)}` : base;
  const collection = `${scoped}/${resource.plural}`;
  return name === undefined ? collection : `${collection}/${encodeURIComponent(name)}`;
}
