// Reads a Namespace's labels into what its team asked for (profile, shared-service access,
// enforcement) or into typed problems with the reason codes of SPEC section 2. Pure: the caller
// says which profiles and services exist.

import type { LabelKeys, RenderConfig } from './config.js';
import { isDnsLabel, isLabelValue, quoteValue } from './kube/names.js';

/** How a kept profile is worded; offline commands say what it means there (see `offlineMessage`). */
export const KEPT_POLICIES = 'policies already applied are kept';

/** A problem's message as an offline command (nothing is applied) should say it. */
export function offlineMessage(problem: LabelProblem): string {
  return problem.message.replace(KEPT_POLICIES, 'no profile policy is rendered (a running operator keeps the policies already applied)');
}

export type LabelProblemReason =
  | 'UnknownProfile'
  | 'InvalidProfile'
  | 'UnknownSharedService'
  | 'InvalidAccessLabel'
  | 'InvalidEnforcementLabel'
  | 'ProtectedNamespace';

export const LABEL_PROBLEM_REASONS: readonly LabelProblemReason[] = [
  'UnknownProfile',
  'InvalidProfile',
  'UnknownSharedService',
  'InvalidAccessLabel',
  'InvalidEnforcementLabel',
  'ProtectedNamespace',
];

export interface LabelProblem {
  reason: LabelProblemReason;
  /** The label key the problem is about. */
  label: string;
  /** One line for humans: what is wrong and what happens because of it. */
  message: string;
}

/**
 * - `none`: no profile label (or a protected namespace): no profile policy.
 * - `valid`: render `profile-<name>`.
 * - `invalid`: the label is wrong; policies already applied for the namespace's profile are kept
 *   as they are (a typo never opens or closes traffic).
 * - `unavailable`: the NetworkProfile exists but is invalid; applied policies are kept the same
 *   way. Not a label problem: the catalog object's status says what is wrong.
 */
export type ProfileIntent = { state: 'none' } | { state: 'valid'; name: string } | { state: 'invalid' } | { state: 'unavailable'; name: string };

export interface NamespaceIntent {
  namespace: string;
  protected: boolean;
  profile: ProfileIntent;
  /** Shared services granted, sorted. */
  access: readonly string[];
  /** Shared services asked for whose SharedService exists but is invalid: applied access is kept. */
  retainedAccess: readonly string[];
  /** `enforcement=disabled`: the escape-hatch CCNP applies to this namespace. */
  enforcementDisabled: boolean;
  problems: readonly LabelProblem[];
}

/** What the catalog holds, as far as label parsing needs to know. */
export interface CatalogNames {
  hasProfile(name: string): boolean;
  hasService(name: string): boolean;
  /** Exists but failed validation. */
  isRejectedProfile?(name: string): boolean;
  isRejectedService?(name: string): boolean;
}

export function isProtectedNamespace(name: string, labels: Readonly<Record<string, string>>, config: RenderConfig): boolean {
  return config.protectedNamespaces.has(name) || labels[config.keys.platform] === 'true';
}

export function evaluateNamespace(
  namespace: string,
  labels: Readonly<Record<string, string>>,
  catalog: CatalogNames,
  config: RenderConfig,
): NamespaceIntent {
  const keys = config.keys;
  const problems: LabelProblem[] = [];
  const enforcementDisabled = parseEnforcement(labels, keys, problems);
  const isProtected = isProtectedNamespace(namespace, labels, config);

  if (isProtected) {
    const asked = Object.keys(labels).filter((key) => key === keys.profile || key.startsWith(keys.accessPrefix)).sort();
    if (asked.length > 0) {
      problems.push({
        reason: 'ProtectedNamespace',
        label: asked[0]!,
        message: `namespace is protected; its ${asked.join(', ')} label${asked.length > 1 ? 's are' : ' is'} ignored and no profile or access policies are generated`,
      });
    }
    return { namespace, protected: true, profile: { state: 'none' }, access: [], retainedAccess: [], enforcementDisabled, problems };
  }

  const profile = parseProfile(labels, keys, catalog, problems);
  const retainedAccess: string[] = [];
  const access = parseAccess(labels, keys, catalog, problems, retainedAccess);
  return { namespace, protected: false, profile, access, retainedAccess, enforcementDisabled, problems };
}

/**
 * The catalog objects a namespace uses: its profile (valid, or kept while its NetworkProfile is
 * invalid) and the services it is granted or keeps. Every "who uses X" (catalog status and its
 * namespace count, the in-use finalizer) is derived from this.
 */
export function catalogObjectsUsed(intent: NamespaceIntent): { profile: string | undefined; services: readonly string[] } {
  const profile = intent.profile.state === 'valid' || intent.profile.state === 'unavailable' ? intent.profile.name : undefined;
  return { profile, services: intent.retainedAccess.length === 0 ? intent.access : [...intent.access, ...intent.retainedAccess] };
}

/**
 * The catalog objects a namespace's labels name, valid or not, whether or not the objects exist
 * and whether or not the namespace is protected (an access label set to "false" names nothing:
 * it is the same as no label). What must be looked at again when those labels or those objects
 * change, and whose problems `status -n` shows.
 */
export function catalogObjectsNamed(labels: Readonly<Record<string, string>>, keys: LabelKeys): { profile: string | undefined; services: string[] } {
  const services: string[] = [];
  for (const [key, value] of Object.entries(labels)) if (key.startsWith(keys.accessPrefix) && value !== 'false') services.push(key.slice(keys.accessPrefix.length));
  return { profile: labels[keys.profile] || undefined, services };
}

function parseProfile(labels: Readonly<Record<string, string>>, keys: LabelKeys, catalog: CatalogNames, problems: LabelProblem[]): ProfileIntent {
  const value = labels[keys.profile];
  if (value === undefined) return { state: 'none' };
  if (value === '' || !isLabelValue(value) || !isDnsLabel(value)) {
    problems.push({
      reason: 'InvalidProfile',
      label: keys.profile,
      message: `${quoteValue(value)} is not a valid profile name (a lowercase DNS label); ${KEPT_POLICIES}`,
    });
    return { state: 'invalid' };
  }
  if (!catalog.hasProfile(value) && catalog.isRejectedProfile?.(value)) return { state: 'unavailable', name: value };
  if (!catalog.hasProfile(value)) {
    problems.push({
      reason: 'UnknownProfile',
      label: keys.profile,
      message: `NetworkProfile ${quoteValue(value)} does not exist; ${KEPT_POLICIES}`,
    });
    return { state: 'invalid' };
  }
  return { state: 'valid', name: value };
}

function parseAccess(
  labels: Readonly<Record<string, string>>,
  keys: LabelKeys,
  catalog: CatalogNames,
  problems: LabelProblem[],
  retained: string[],
): string[] {
  const granted: string[] = [];
  for (const key of Object.keys(labels).sort()) {
    if (!key.startsWith(keys.accessPrefix)) continue;
    const service = key.slice(keys.accessPrefix.length);
    const value = labels[key]!;
    if (value === 'false') continue; // the same as no label at all
    if (!catalog.hasService(service) && catalog.isRejectedService?.(service)) {
      if (value === 'true') retained.push(service);
      else problems.push({ reason: 'InvalidAccessLabel', label: key, message: `${quoteValue(value)} is not "true" or "false"; access not granted` });
      continue;
    }
    if (!catalog.hasService(service)) {
      problems.push({
        reason: 'UnknownSharedService',
        label: key,
        message: `SharedService ${quoteValue(service)} does not exist; access not granted`,
      });
      continue;
    }
    if (value !== 'true') {
      problems.push({
        reason: 'InvalidAccessLabel',
        label: key,
        message: `${quoteValue(value)} is not "true" or "false"; access not granted`,
      });
      continue;
    }
    granted.push(service);
  }
  return granted;
}

function parseEnforcement(labels: Readonly<Record<string, string>>, keys: LabelKeys, problems: LabelProblem[]): boolean {
  const value = labels[keys.enforcement];
  if (value === undefined || value === 'enabled') return false;
  if (value === 'disabled') return true;
  problems.push({
    reason: 'InvalidEnforcementLabel',
    label: keys.enforcement,
    message: `${quoteValue(value)} is not "enabled" or "disabled"; the namespace stays enforced`,
  });
  return false;
}

/** Label problems of one namespace that get their own metric series and Event; the rest are counted together. */
export const MAX_REPORTED_LABEL_PROBLEMS = 5;

/**
 * The problems reported one by one (the first ones by label key, so the choice is stable) and how
 * many more there are: a namespace with a thousand bogus labels must not make a thousand series or
 * Events.
 */
export function reportedProblems(problems: readonly LabelProblem[], max = MAX_REPORTED_LABEL_PROBLEMS): { shown: LabelProblem[]; more: number } {
  const sorted = [...problems].sort((a, b) => (a.label < b.label ? -1 : a.label > b.label ? 1 : 0));
  return { shown: sorted.slice(0, max), more: Math.max(0, sorted.length - max) };
}

/** A label key in our domain (or a near miss of it) that netpol-profiles does not know: it is ignored. */
export interface UnknownLabelKey {
  label: string;
  /** The closest key we know, when one is close enough to be a likely typo. */
  suggestion?: string;
}

/**
 * Label keys that look like ours but are not: in our domain (`D/profiel`), in a subdomain of it
 * (`acess.D/postgres`), or with the domain itself misspelt (`network-polcy.homelab/profile`). A
 * typo in a key is otherwise silent: the label is simply ignored.
 */
export function unknownLabelKeys(labels: Readonly<Record<string, string>>, keys: LabelKeys): UnknownLabelKey[] {
  const known = [keys.profile, keys.enforcement, keys.platform];
  const accessDomain = keys.accessPrefix.slice(0, -1);
  const found: UnknownLabelKey[] = [];
  for (const label of Object.keys(labels).sort()) {
    const slash = label.indexOf('/');
    if (slash < 0) continue;
    const prefix = label.slice(0, slash);
    const name = label.slice(slash + 1);
    if (known.includes(label) || prefix === accessDomain) continue;
    const ours = prefix === keys.domain || prefix.endsWith(`.${keys.domain}`);
    const nearDomain = editDistance(prefix, keys.domain) <= 2;
    const nearAccess = editDistance(prefix, accessDomain) <= 2;
    if (!ours && !nearDomain && !nearAccess) continue;
    let suggestion: string | undefined;
    if (nearAccess && !(ours && prefix === keys.domain)) {
      suggestion = `${keys.accessPrefix}${name}`;
    } else {
      const candidates = known.map((key) => ({ key, distance: editDistance(`${keys.domain}/${name}`, key) }));
      const best = candidates.sort((a, b) => a.distance - b.distance)[0]!;
      if (best.distance <= Math.max(2, Math.floor(name.length / 3))) suggestion = best.key;
    }
    found.push(suggestion ? { label, suggestion } : { label });
  }
  return found;
}

/** The message of an unknown key, for `render` and the other offline commands. */
export function describeUnknownKey(unknown: UnknownLabelKey, keys: LabelKeys): string {
  const hint = unknown.suggestion
    ? `did you mean ${unknown.suggestion}?`
    : `the keys are ${keys.profile}, ${keys.enforcement}, ${keys.platform} and ${keys.accessPrefix}<service>`;
  return `not a label netpol-profiles knows, so it is ignored; ${hint}`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions cost 1. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Math.abs(a.length - b.length);
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}
