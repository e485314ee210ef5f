// Kubeconfig files pointing kubectl and client-node at a test API server.
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';

export interface KubeconfigSpec {
  server: string;
  token: string;
  user: string;
  namespace?: string;
}

export const CLUSTER_NAME = 'netpol-test';

export function kubeconfigYaml(spec: KubeconfigSpec): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    // client-node refuses plain HTTP unless TLS verification is marked as skipped.
    clusters: [{ name: CLUSTER_NAME, cluster: { server: spec.server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: spec.user, user: { token: spec.token } }],
    contexts: [{ name: `${spec.user}@${CLUSTER_NAME}`, context: { cluster: CLUSTER_NAME, user: spec.user, namespace: spec.namespace ?? 'default' } }],
    'current-context': `${spec.user}@${CLUSTER_NAME}`,
    preferences: {},
  });
}

export function writeKubeconfig(path: string, spec: KubeconfigSpec): string {
  writeFileSync(path, kubeconfigYaml(spec), { mode: 0o600 });
  return path;
}
