// The shape of a `status` report: what `-o json` prints and what the table is drawn from. Field
// names and state values are part of the command's documented output (docs/status.md).

import type { LabelProblemReason, ProfileIntent } from '../labels.js';
import type { PolicyKind } from '../kube/types.js';

/**
 * - `in-sync`: present, owned, spec and our labels as rendered.
 * - `missing`: desired, absent.
 * - `drifted`: desired and owned, but its spec or our labels differ (the operator will restore it).
 * - `conflict`: desired, but the name is held by an object without our managed-by label.
 * - `extra`: owned, not desired, not retained (the operator will prune it).
 * - `kept`: owned, not desired, left as it is because something it came from is invalid.
 */
export type PolicyState = 'in-sync' | 'missing' | 'drifted' | 'conflict' | 'extra' | 'kept';
export const POLICY_STATES: readonly PolicyState[] = ['conflict', 'missing', 'drifted', 'extra', 'kept', 'in-sync'];

export interface PolicyStatus {
  kind: PolicyKind;
  name: string;
  state: PolicyState;
  /** The `generated-from` value it is (or should be) generated from; null when unknown. */
  generatedFrom: string | null;
  /** Why it is drifted, conflicting or kept; absent otherwise. */
  detail?: string;
}

export interface ForeignPolicy {
  name: string;
  /** Whether its rules were compared with the profile: only in non-protected namespaces with a profile label. */
  checked: boolean;
  /** Allow rules that may widen what the namespace's generated policies allow; null when not checked. */
  wideningIngressRules: number | null;
  wideningEgressRules: number | null;
}

export interface LabelError {
  label: string;
  reason: LabelProblemReason;
  message: string;
}

export interface EnforcementStatus {
  state: 'enforced' | 'disabled';
  /** RFC 3339 time the operator first saw it disabled; null when enforced or not recorded. */
  since: string | null;
  /** Seconds since then; null when `since` is. */
  disabledForSeconds: number | null;
}

export interface NamespaceStatus {
  name: string;
  protected: boolean;
  profile: {
    /** The profile label's value as written; null without the label. */
    label: string | null;
    /** What the operator makes of it (a protected namespace's label is ignored: `none`). */
    state: ProfileIntent['state'];
  };
  /** Shared services granted, sorted. */
  access: string[];
  enforcement: EnforcementStatus;
  /** Generated CNPs desired or present in this namespace, by kind and name. */
  policies: PolicyStatus[];
  labelErrors: LabelError[];
  /** CiliumNetworkPolicies here that the operator does not manage, by name. */
  foreignPolicies: ForeignPolicy[];
  /** How many findings are about this namespace. */
  findings: number;
}

export type FindingKind =
  | 'no-leader'
  | 'dry-run'
  | 'catalog-problem'
  | 'missing'
  | 'drifted'
  | 'conflict'
  | 'extra'
  | 'label-error'
  | 'enforcement-disabled'
  | 'foreign-policy';

export interface Finding {
  /** Absent for cluster-wide findings. */
  namespace?: string;
  kind: FindingKind;
  /** `Kind/name` of the object the finding is about, when there is one. */
  object?: string;
  /** One line, without the namespace. */
  message: string;
  /** The next step: the command to run or the change to make in git. */
  fix: string;
}

export interface OperatorStatus {
  /** `namespace/name` of the leader election Lease. */
  lease: string;
  leaseExists: boolean;
  holder: string | null;
  renewTime: string | null;
  renewedSecondsAgo: number | null;
  leaseDurationSeconds: number | null;
  /** A holder renewed the lease within its duration. */
  leading: boolean;
  /** What the Lease's holder says it does (annotation netpol-profiles/mode): `enforce`, `dry-run`, or null when not said. */
  mode: 'enforce' | 'dry-run' | null;
}

export interface StatusReport {
  /** When the report was computed (RFC 3339): every age in it is relative to this. */
  time: string;
  /** `-n`: the only namespace reported; null for all. */
  namespaceFilter: string | null;
  operator: OperatorStatus;
  namespaces: NamespaceStatus[];
  cluster: {
    /** The escape hatch and the baselines (CCNPs). */
    policies: PolicyStatus[];
    catalogProblems: Array<{ object: string; message: string }>;
  };
  findings: Finding[];
  counts: {
    namespaces: number;
    findings: number;
    /** Generated objects in the report (namespaces shown and cluster-wide) by state. */
    policies: Record<PolicyState, number>;
  };
}
