// Label selectors, compiled once into predicates. Cilium selectors name a label source in the key
// (`k8s:app`, `reserved:host`; no prefix or `any:` matches any source); Kubernetes NetworkPolicy
// selectors match plain labels. Both follow Kubernetes' selector semantics: requirements are
// ANDed, `NotIn` and `DoesNotExist` match an absent label, and an empty selector matches everything.

import type { LabelSelector } from '../kube/types.js';
import type { Identity } from './identity.js';

export type IdentityPredicate = (identity: Identity) => boolean;
type LabelLookup = (identity: Identity) => string | undefined;

export interface SelectorKey {
  /** `k8s`, `reserved`, `any`, or another Cilium label source (which no identity here carries). */
  source: string;
  key: string;
}

/** Splits `k8s:app` into source and key; a key without a source matches any source. */
export function parseSelectorKey(raw: string): SelectorKey {
  const colon = raw.indexOf(':');
  if (colon === -1) return { source: 'any', key: raw };
  return { source: raw.slice(0, colon), key: raw.slice(colon + 1) };
}

function lookupFor({ source, key }: SelectorKey): LabelLookup {
  switch (source) {
    case 'any':
      return (identity) => identity.k8s.get(key) ?? identity.reserved.get(key);
    case 'k8s':
      return (identity) => identity.k8s.get(key);
    case 'reserved':
      return (identity) => identity.reserved.get(key);
    default:
      return () => undefined;
  }
}

type Requirement = (value: string | undefined) => boolean;

function requirement(operator: string, values: readonly string[] | undefined): Requirement {
  switch (operator) {
    case 'In': {
      const set = new Set(values ?? []);
      return (value) => value !== undefined && set.has(value);
    }
    case 'NotIn': {
      const set = new Set(values ?? []);
      return (value) => value === undefined || !set.has(value);
    }
    case 'Exists':
      return (value) => value !== undefined;
    case 'DoesNotExist':
      return (value) => value === undefined;
    default:
      // Validation refuses other operators before they get here; matching nothing is the safe reading.
      return () => false;
  }
}

function combine<T>(tests: Array<(subject: T) => boolean>): (subject: T) => boolean {
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  return (subject) => {
    for (const test of tests) if (!test(subject)) return false;
    return true;
  };
}

/** A Cilium endpoint selector as a predicate over identities. */
export function compileCiliumSelector(selector: LabelSelector): IdentityPredicate {
  const tests: IdentityPredicate[] = [];
  for (const [rawKey, expected] of Object.entries(selector.matchLabels ?? {})) {
    const lookup = lookupFor(parseSelectorKey(rawKey));
    tests.push((identity) => lookup(identity) === expected);
  }
  for (const expression of selector.matchExpressions ?? []) {
    const lookup = lookupFor(parseSelectorKey(expression.key));
    const test = requirement(expression.operator, expression.values);
    tests.push((identity) => test(lookup(identity)));
  }
  return combine(tests);
}

/** The keys a Cilium selector tests, parsed. */
export function selectorKeys(selector: LabelSelector): SelectorKey[] {
  return [...Object.keys(selector.matchLabels ?? {}), ...(selector.matchExpressions ?? []).map((e) => e.key)].map(parseSelectorKey);
}

export type LabelsPredicate = (labels: Readonly<Record<string, string>>) => boolean;

/** A Kubernetes label selector (NetworkPolicy `podSelector`, `namespaceSelector`) over plain labels. */
export function compileKubeSelector(selector: LabelSelector): LabelsPredicate {
  const tests: LabelsPredicate[] = [];
  for (const [key, expected] of Object.entries(selector.matchLabels ?? {})) {
    tests.push((labels) => labels[key] === expected);
  }
  for (const expression of selector.matchExpressions ?? []) {
    const test = requirement(expression.operator, expression.values);
    const key = expression.key;
    tests.push((labels) => test(Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined));
  }
  return combine(tests);
}
