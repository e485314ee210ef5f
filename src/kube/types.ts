// Types for the Kubernetes objects netpol-profiles reads and writes. Only the fields we use are
// typed; everything else is carried through untouched.

export type Labels = Record<string, string>;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Labels;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [extra: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [extra: string]: unknown;
}

export interface Namespace extends KubeObject {
  apiVersion?: 'v1';
  kind?: 'Namespace';
  metadata?: ObjectMeta;
  status?: { phase?: string };
}

/** A label selector in Kubernetes/Cilium form. */
export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }>;
}

/** A Cilium policy rule (ingress or egress), copied from the catalog as written. */
export type CiliumRule = Record<string, unknown>;

export interface CiliumPolicySpec {
  description?: string;
  endpointSelector?: LabelSelector;
  nodeSelector?: LabelSelector;
  ingress?: CiliumRule[];
  ingressDeny?: CiliumRule[];
  egress?: CiliumRule[];
  egressDeny?: CiliumRule[];
  [extra: string]: unknown;
}

export const CILIUM_API_VERSION = 'cilium.io/v2';
export type PolicyKind = 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

/** A generated CNP or CCNP: what the renderer produces and the operator owns. */
export interface PolicyObject extends KubeObject {
  apiVersion: typeof CILIUM_API_VERSION;
  kind: PolicyKind;
  metadata: { name: string; namespace?: string; labels: Labels; [extra: string]: unknown };
  spec: CiliumPolicySpec;
}

/** A CNP or CCNP as the API returns it: ours, someone else's, or ours edited by someone else. */
export interface ObservedPolicy extends KubeObject {
  kind: PolicyObject['kind'];
  metadata: PolicyObject['metadata'] & { resourceVersion?: string; uid?: string };
  spec?: unknown;
  /** Cilium enforces `specs[]` alongside `spec`; we never generate it, so any is someone's edit. */
  specs?: unknown;
}

/** `Kind/namespace/name`: one object's identity. */
export function objectKey(object: { kind?: string; metadata?: { namespace?: string; name?: string } }): string {
  return `${object.kind}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** The namespace is being deleted: its objects go with it, and nothing new can be written into it. */
export function isTerminating(namespace: Namespace): boolean {
  return namespace.metadata?.deletionTimestamp !== undefined || namespace.status?.phase === 'Terminating';
}

/** A JSON object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
