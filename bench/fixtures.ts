// The benchmarks' cluster: namespaces team-0 … team-N, each with one of the four default profiles
// and two access labels, so every profile and shared service is in use.

import type { NamespaceInput } from '../src/render/render.js';

export const D = 'network-policy.homelab';
const PROFILES = ['isolated', 'internal', 'internal-egress', 'standard'];
const SERVICES = ['postgres', 'dragonfly', 'garage-s3', 'kube-api'];

export function benchLabels(i: number, profile = PROFILES[i % PROFILES.length]!): Record<string, string> {
  return {
    [`${D}/profile`]: profile,
    [`access.${D}/${SERVICES[i % SERVICES.length]}`]: 'true',
    [`access.${D}/${SERVICES[(i + 1) % SERVICES.length]}`]: 'true',
  };
}

export function benchNamespaces(count: number): NamespaceInput[] {
  return Array.from({ length: count }, (_, i) => ({ name: `team-${i}`, labels: benchLabels(i) }));
}
