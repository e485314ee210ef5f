// Settings shared by the renderer, the operator and the CLI, and the label keys derived from the
// label domain. One place builds every key so `--label-domain` changes all of them together.

export const DEFAULT_LABEL_DOMAIN = 'network-policy.homelab';
export const DEFAULT_PROTECTED_NAMESPACES = ['kube-system', 'kube-public', 'kube-node-lease'] as const;
export const DEFAULT_OPERATOR_NAMESPACE = 'netpol-profiles';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'netpol-profiles';
/** The leader election Lease, in the operator namespace. */
export const LEASE_NAME = 'netpol-profiles';

export interface LabelKeys {
  domain: string;
  profile: string;
  enforcement: string;
  platform: string;
  generatedFrom: string;
  inUseFinalizer: string;
  /** Prefix of access labels: `access.<domain>/`. */
  accessPrefix: string;
}

export function labelKeys(domain: string): LabelKeys {
  return {
    domain,
    profile: `${domain}/profile`,
    enforcement: `${domain}/enforcement`,
    platform: `${domain}/platform`,
    generatedFrom: `${domain}/generated-from`,
    inUseFinalizer: `${domain}/in-use`,
    accessPrefix: `access.${domain}/`,
  };
}

export interface RenderConfig {
  keys: LabelKeys;
  /** Namespaces that never get profile or access policies (flag list plus the operator's own). */
  protectedNamespaces: ReadonlySet<string>;
}

export function makeRenderConfig(options: {
  labelDomain?: string;
  protectedNamespaces?: readonly string[];
  operatorNamespace?: string;
} = {}): RenderConfig {
  const protectedNamespaces = new Set(options.protectedNamespaces ?? DEFAULT_PROTECTED_NAMESPACES);
  protectedNamespaces.add(options.operatorNamespace ?? DEFAULT_OPERATOR_NAMESPACE);
  return { keys: labelKeys(options.labelDomain ?? DEFAULT_LABEL_DOMAIN), protectedNamespaces };
}

// A DNS subdomain (RFC 1123): what Kubernetes accepts as the domain part of a label key.
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label domain is unusable, or undefined when it is fine. `access.<domain>` must fit too. */
export function labelDomainProblem(domain: string): string | undefined {
  const longest = `access.${domain}`;
  if (!DNS_SUBDOMAIN.test(domain) || longest.length > 253) {
    return `"${domain}" is not a valid label domain (a lowercase DNS subdomain of at most 246 characters)`;
  }
  return undefined;
}
