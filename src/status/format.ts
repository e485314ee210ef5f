// Prints a status report: a kubectl-style table for people, or the report itself as JSON for
// scripts. Both are deterministic for the same report.

import { humanDuration } from '../reconcile/escape-hatch.js';
import { POLICY_STATES, type Finding, type NamespaceStatus, type PolicyState, type PolicyStatus, type StatusReport } from './report.js';

export const STATUS_FORMATS = ['table', 'json'] as const;
export type StatusFormat = (typeof STATUS_FORMATS)[number];

export function formatStatus(report: StatusReport, format: StatusFormat): string {
  return format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report);
}

const STATE_WORDS: Record<PolicyState, string> = {
  conflict: 'conflict',
  missing: 'missing',
  drifted: 'drifted',
  extra: 'extra',
  kept: 'kept',
  'in-sync': 'in sync',
};

/** `1 missing, 2 in sync`: problems first, in a fixed order; `-` for nothing. */
export function summarizePolicies(policies: readonly PolicyStatus[], foreign = 0): string {
  const parts: string[] = [];
  for (const state of POLICY_STATES) {
    const count = policies.filter((policy) => policy.state === state).length;
    if (count > 0) parts.push(`${count} ${STATE_WORDS[state]}`);
  }
  if (foreign > 0) parts.push(`${foreign} foreign`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

function profileCell(namespace: NamespaceStatus): string {
  if (namespace.protected) return '(protected)';
  const { label, state } = namespace.profile;
  if (label === null) return '-';
  return state === 'valid' ? label : `${label} (${state})`;
}

function enforcementCell(namespace: NamespaceStatus): string {
  const { state, disabledForSeconds } = namespace.enforcement;
  if (state === 'enforced') return 'enforced';
  return disabledForSeconds === null ? 'disabled (not recorded)' : `disabled ${humanDuration(disabledForSeconds)}`;
}

/** Columns padded to their widest cell plus three spaces, as kubectl prints them. */
export function columns(rows: ReadonlyArray<readonly string[]>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('') + '\n').join('');
}

function operatorLine(report: StatusReport): string {
  const { operator } = report;
  if (operator.leading) {
    const mode = operator.mode === 'dry-run' ? ' in DRY-RUN (shadow) mode, writing nothing' : '';
    return `operator: ${operator.holder} is leading${mode} (lease ${operator.lease} renewed ${humanDuration(operator.renewedSecondsAgo ?? 0)} ago, valid for ${operator.leaseDurationSeconds}s)`;
  }
  if (!operator.leaseExists) return `operator: no leader (no lease ${operator.lease})`;
  if (operator.holder === null) return `operator: no leader (lease ${operator.lease} has no holder)`;
  const ago = operator.renewedSecondsAgo === null ? 'never renewed' : `last renewed ${humanDuration(operator.renewedSecondsAgo)} ago`;
  return `operator: no leader (lease ${operator.lease} held by ${operator.holder}, ${ago})`;
}

/** `shop: …`, `cluster: …`, `catalog: …`. */
export function findingLine(finding: Finding): string {
  const subject = finding.namespace ?? (finding.kind === 'catalog-problem' ? 'catalog' : 'cluster');
  return `${subject}: ${finding.message}`;
}

export function formatTable(report: StatusReport): string {
  const rows = [['NAMESPACE', 'PROFILE', 'ACCESS', 'ENFORCEMENT', 'POLICIES', 'FINDINGS']];
  for (const namespace of report.namespaces) {
    rows.push([
      namespace.name,
      profileCell(namespace),
      namespace.access.length > 0 ? namespace.access.join(',') : '-',
      enforcementCell(namespace),
      summarizePolicies(namespace.policies, namespace.foreignPolicies.length),
      namespace.findings > 0 ? String(namespace.findings) : '-',
    ]);
  }
  const lines = [operatorLine(report), columns(rows).trimEnd(), '', `cluster-wide policies: ${summarizePolicies(report.cluster.policies)}`];
  if (report.findings.length > 0) {
    // Each finding, then its next step on the line below.
    lines.push('', ...report.findings.flatMap((finding) => [findingLine(finding), `  fix: ${finding.fix}`]));
    lines.push(`${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}`);
  } else {
    lines.push('', 'all in sync and enforced');
  }
  return `${lines.join('\n')}\n`;
}
