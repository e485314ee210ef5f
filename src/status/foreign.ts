// Which allow rules of a CiliumNetworkPolicy the operator does not manage may widen what a
// namespace's profile allows. Cilium adds allow rules up, so any rule not already granted to every
// endpoint of the namespace might let more through. The test is textual (canonical JSON), which
// makes it sound but conservative: a rule that is only semantically covered still counts.

import { canonicalJson } from '../render/canonical.js';
import { isRecord } from '../kube/types.js';

export type Direction = 'ingress' | 'egress';
const DIRECTIONS: readonly Direction[] = ['ingress', 'egress'];

/** Canonical texts of the allow rules, per direction, that a namespace already grants every endpoint. */
export interface GrantedRules {
  ingress: ReadonlySet<string>;
  egress: ReadonlySet<string>;
}

/** `spec` and every entry of `specs`: a CNP may carry several rule sets. */
export function specsOf(policy: { spec?: unknown; [field: string]: unknown }): Array<Record<string, unknown>> {
  const specs: Array<Record<string, unknown>> = [];
  if (isRecord(policy.spec)) specs.push(policy.spec);
  if (Array.isArray(policy.specs)) for (const spec of policy.specs) if (isRecord(spec)) specs.push(spec);
  return specs;
}

/**
 * Allow rules of specs that select every endpoint of the namespace (`endpointSelector: {}`); a spec
 * with a narrower selector grants its rules to some endpoints only and contributes nothing.
 */
export function grantedRules(policies: ReadonlyArray<{ spec?: unknown; [field: string]: unknown }>): GrantedRules {
  const granted = { ingress: new Set<string>(), egress: new Set<string>() };
  for (const policy of policies) {
    for (const spec of specsOf(policy)) {
      if (canonicalJson(spec.endpointSelector ?? null) !== '{}') continue;
      for (const direction of DIRECTIONS) {
        const rules = spec[direction];
        if (Array.isArray(rules)) for (const rule of rules) granted[direction].add(canonicalJson(rule));
      }
    }
  }
  return granted;
}

/**
 * Allow rules (`ingress`, `egress`) that may widen the namespace's policies. An empty rule `{}`
 * allows nothing and a rule identical to a granted one adds nothing; `ingressDeny`/`egressDeny`
 * only ever narrow. Anything unreadable counts as widening: better a false alarm than a miss.
 */
export function wideningRules(policy: { spec?: unknown; [field: string]: unknown }, granted: GrantedRules): Record<Direction, number> {
  const count = { ingress: 0, egress: 0 };
  for (const spec of specsOf(policy)) {
    for (const direction of DIRECTIONS) {
      const rules = spec[direction];
      if (rules === undefined || rules === null) continue;
      if (!Array.isArray(rules)) {
        count[direction]++;
        continue;
      }
      for (const rule of rules) {
        const text = canonicalJson(rule);
        if (text !== '{}' && !granted[direction].has(text)) count[direction]++;
      }
    }
  }
  return count;
}
