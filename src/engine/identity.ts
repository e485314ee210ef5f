// The endpoints a flow can go from or to, and the security identity Cilium gives each: the labels
// its policies select on. Pods carry their own labels with the `k8s` source plus the labels Cilium
// derives from their namespace; everything that is not a pod is a reserved identity.

import { parseIp, type IpAddress } from './cidr.js';

/** Cilium's reserved identities that a flow can name (`reserved:<entity>`). */
export const RESERVED_ENTITIES = ['world', 'host', 'remote-node', 'kube-apiserver', 'health', 'ingress', 'init', 'unmanaged'] as const;
export type ReservedEntity = (typeof RESERVED_ENTITIES)[number];

export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export const PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

/**
 * - `pod`: a pod with these labels in this namespace;
 * - `reserved`: one of Cilium's reserved identities other than world;
 * - `world`: outside the cluster, optionally at an address or a DNS name.
 */
/** A port a pod's containers declare: what a named port in a rule resolves to. */
export interface ContainerPort {
  name?: string;
  port: number;
  protocol: Protocol;
}

export type Endpoint =
  | {
      kind: 'pod';
      namespace: string;
      labels: Readonly<Record<string, string>>;
      serviceAccount?: string;
      /** Shown in output instead of the labels (a Pod or workload name from --pods). */
      name?: string;
      /** Declared container ports; undefined when not known (named ports cannot be resolved). */
      ports?: readonly ContainerPort[];
    }
  | { kind: 'reserved'; entity: Exclude<ReservedEntity, 'world'> }
  | { kind: 'world'; ip?: string; fqdn?: string };

export interface NamespaceLabels {
  name: string;
  labels: Readonly<Record<string, string>>;
}

// Label keys Cilium derives for every pod (pkg/k8s/apis/cilium.io const.go).
export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';
export const SERVICE_ACCOUNT_KEY = 'io.cilium.k8s.policy.serviceaccount';
export const CLUSTER_KEY = 'io.cilium.k8s.policy.cluster';
/** The label the API server sets on every Namespace (Kubernetes 1.21+). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** What policies see of an endpoint. Built once per distinct endpoint and shared. */
export interface Identity {
  readonly key: string;
  readonly endpoint: Endpoint;
  /** `pod`, `world`, or the reserved entity name. */
  readonly entity: 'pod' | ReservedEntity;
  /** Labels of the `k8s` source (pods only). */
  readonly k8s: ReadonlyMap<string, string>;
  /** Labels of the `reserved` source (`reserved:host` is key `host` with value ""). */
  readonly reserved: ReadonlyMap<string, string>;
  readonly namespace: string | undefined;
  /** The pod's own labels and its namespace's labels, for Kubernetes NetworkPolicy selectors. */
  readonly podLabels: Readonly<Record<string, string>>;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly ip: IpAddress | undefined;
  readonly fqdn: string | undefined;
  /** The pod's declared ports; undefined when unknown. */
  readonly ports: readonly ContainerPort[] | undefined;
}

const EMPTY = new Map<string, string>();

/** `k=v,k2=v2`, keys sorted. */
function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(',');
}

/** A stable key for an endpoint: equal endpoints get the same identity. */
export function endpointKey(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'pod': {
      const labels = labelText(endpoint.labels);
      const ports = endpoint.ports ? `:${endpoint.ports.map((p) => `${p.name ?? ''}=${p.port}/${p.protocol}`).join(',')}` : '';
      return `pod:${endpoint.namespace}/${labels}${endpoint.serviceAccount ? `@${endpoint.serviceAccount}` : ''}${ports}`;
    }
    case 'reserved':
      return `reserved:${endpoint.entity}`;
    case 'world':
      return `world:${endpoint.ip ?? ''}:${endpoint.fqdn ?? ''}`;
  }
}

/** The namespace's labels as the API server holds them, `kubernetes.io/metadata.name` included. */
export function namespaceLabelsWithName(name: string, labels: Readonly<Record<string, string>> | undefined): Record<string, string> {
  return { ...labels, [NAMESPACE_NAME_LABEL]: name };
}

export function buildIdentity(endpoint: Endpoint, namespaceLabels: Readonly<Record<string, string>> | undefined): Identity {
  const key = endpointKey(endpoint);
  if (endpoint.kind === 'pod') {
    const nsLabels = namespaceLabelsWithName(endpoint.namespace, namespaceLabels);
    const k8s = new Map<string, string>(Object.entries(endpoint.labels));
    for (const [label, value] of Object.entries(nsLabels)) k8s.set(`${NAMESPACE_LABELS_PREFIX}${label}`, value);
    k8s.set(POD_NAMESPACE_KEY, endpoint.namespace);
    k8s.set(SERVICE_ACCOUNT_KEY, endpoint.serviceAccount ?? 'default');
    k8s.set(CLUSTER_KEY, 'default');
    return {
      key,
      endpoint,
      entity: 'pod',
      k8s,
      reserved: EMPTY,
      namespace: endpoint.namespace,
      podLabels: endpoint.labels,
      namespaceLabels: nsLabels,
      ip: undefined,
      fqdn: undefined,
      ports: endpoint.ports,
    };
  }
  const entity = endpoint.kind === 'world' ? 'world' : endpoint.entity;
  return {
    key,
    endpoint,
    entity,
    k8s: EMPTY,
    reserved: new Map([[entity, '']]),
    namespace: undefined,
    podLabels: {},
    namespaceLabels: {},
    ip: endpoint.kind === 'world' && endpoint.ip !== undefined ? parseIp(endpoint.ip) : undefined,
    fqdn: endpoint.kind === 'world' ? endpoint.fqdn : undefined,
    ports: undefined,
  };
}

/**
 * Endpoints whose own policy Cilium enforces: pods, and the cilium-health endpoints (a CCNP whose
 * endpointSelector matches `reserved:health` selects them). The host has policy only with the host
 * firewall, which this engine does not model; the other reserved identities are not endpoints.
 */
export function isPolicedEndpoint(identity: Identity): boolean {
  return identity.entity === 'pod' || identity.entity === 'health';
}

/** `NS`, `NS/k=v,...`, `reserved:ENTITY`, `world`, an IP address or a DNS name, for messages. */
export function formatEndpoint(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'pod': {
      const shown = endpoint.name ?? labelText(endpoint.labels);
      return shown === '' ? endpoint.namespace : `${endpoint.namespace}/${shown}`;
    }
    case 'reserved':
      return `reserved:${endpoint.entity}`;
    case 'world':
      return endpoint.fqdn ?? endpoint.ip ?? 'reserved:world';
  }
}
