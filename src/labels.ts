// Reads a Namespace's labels into what its team asked for (profile, shared-service access,
// enforcement) or into typed problems with the reason codes of SPEC section 2. Pure: the caller
// says which profiles and services exist.

import type { LabelKeys, RenderConfig } from './config.js';
import { isDnsLabel, isLabelValue, quoteValue } from './kube/names.js';

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

function parseProfile(labels: Readonly<Record<string, string>>, keys: LabelKeys, catalog: CatalogNames, problems: LabelProblem[]): ProfileIntent {
  const value = labels[keys.profile];
  if (value === undefined) return { state: 'none' };
  if (value === '' || !isLabelValue(value) || !isDnsLabel(value)) {
    problems.push({
      reason: 'InvalidProfile',
      label: keys.profile,
      message: `${quoteValue(value)} is not a valid profile name (a lowercase DNS label); policies already applied are kept`,
    });
    return { state: 'invalid' };
  }
  if (!catalog.hasProfile(value) && catalog.isRejectedProfile?.(value)) return { state: 'unavailable', name: value };
  if (!catalog.hasProfile(value)) {
    problems.push({
      reason: 'UnknownProfile',
      label: keys.profile,
      message: `NetworkProfile ${quoteValue(value)} does not exist; policies already applied are kept`,
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
