// The catalog: validated, typed forms of the three cluster-scoped custom resources that cluster
// admins write (NetworkProfile, SharedService, NetworkBaseline).

import type { CiliumPolicySpec, CiliumRule, LabelSelector } from '../kube/types.js';

export const CATALOG_GROUP = 'network-policy.homelab';
export const CATALOG_VERSION = 'v1alpha1';
export const CATALOG_API_VERSION = `${CATALOG_GROUP}/${CATALOG_VERSION}`;

export const CATALOG_KINDS = ['NetworkProfile', 'SharedService', 'NetworkBaseline'] as const;
export type CatalogKind = (typeof CATALOG_KINDS)[number];

/**
 * Catalog names end up in label values such as `access-ingress.<name>` (at most 63 characters),
 * so every catalog name is a DNS label of at most this length.
 */
export const MAX_CATALOG_NAME_LENGTH = 48;

export type PortProtocol = 'TCP' | 'UDP' | 'SCTP' | 'ANY';
export const PORT_PROTOCOLS: readonly PortProtocol[] = ['TCP', 'UDP', 'SCTP', 'ANY'];

export interface ServicePort {
  port: string;
  protocol: PortProtocol;
  endPort?: number;
}

export interface NetworkProfile {
  name: string;
  description: string;
  ingress: readonly CiliumRule[];
  egress: readonly CiliumRule[];
}

/** Where a shared service's pods live, or the Cilium entities that stand for it. */
export type SharedServiceTarget =
  | { kind: 'pods'; namespace: string; podSelector: LabelSelector }
  | { kind: 'entities'; entities: readonly string[] };

export interface SharedService {
  name: string;
  description: string;
  target: SharedServiceTarget;
  ports: readonly ServicePort[];
  manageIngress: boolean;
}

export interface NetworkBaseline {
  name: string;
  spec: CiliumPolicySpec;
}

export interface Catalog {
  profiles: ReadonlyMap<string, NetworkProfile>;
  services: ReadonlyMap<string, SharedService>;
  baselines: ReadonlyMap<string, NetworkBaseline>;
  /**
   * Objects that exist but failed validation. What was generated from them is kept as it is
   * (a catalog mistake never opens or closes traffic), and nothing new is generated.
   */
  rejected: { profiles: ReadonlySet<string>; services: ReadonlySet<string>; baselines: ReadonlySet<string> };
}

export function emptyCatalog(): Catalog {
  return { profiles: new Map(), services: new Map(), baselines: new Map(), rejected: { profiles: new Set(), services: new Set(), baselines: new Set() } };
}
