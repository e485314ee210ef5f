// `diagnose` output: a table grouped by namespace (each group with its count, cause and fix, and a
// line of detail), or JSON with the proof of each fix.

import { sideSummary } from '../simulate/format.js';
import { groupCount, type DropGroup } from './drops.js';
import type { Diagnosis } from './explain.js';

export interface Diagnosed {
  group: DropGroup;
  diagnosis: Diagnosis;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** By namespace, then the most frequent first. */
export function sortDiagnosed(items: Diagnosed[]): Diagnosed[] {
  return [...items].sort((a, b) => compare(a.group.namespace, b.group.namespace) || groupCount(b.group) - groupCount(a.group) || compare(a.group.key, b.group.key));
}

function fixText(diagnosis: Diagnosis): string {
  if (!diagnosis.fix) return '-';
  const labels = Object.entries(diagnosis.fix.labels).map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return `${diagnosis.fix.namespace}: ${labels.join(', ')}`;
}

export function formatDiagnosesTable(items: readonly Diagnosed[]): string {
  const header = ['NAMESPACE', 'DIRECTION', 'FROM', 'TO', 'PORT', 'COUNT', 'CAUSE', 'FIX'];
  const rows = items.map(({ group, diagnosis }) => [
    group.namespace,
    group.flow.direction,
    group.flow.source.text,
    group.flow.destination.text,
    group.port,
    String(groupCount(group)),
    diagnosis.cause,
    fixText(diagnosis),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd();
  const out = [line(header)];
  items.forEach(({ diagnosis }, i) => {
    out.push(line(rows[i]!));
    const proof = diagnosis.fix && diagnosis.proof ? ` Proof with the fix: ${diagnosis.proof.verdict} (egress: ${sideSummary(diagnosis.proof.egress)}; ingress: ${sideSummary(diagnosis.proof.ingress)}).` : '';
    out.push(`    ${diagnosis.detail}.${proof}`);
  });
  const total = items.reduce((sum, { group }) => sum + groupCount(group), 0);
  const byCause = new Map<string, number>();
  for (const { diagnosis } of items) byCause.set(diagnosis.cause, (byCause.get(diagnosis.cause) ?? 0) + 1);
  const causes = [...byCause.entries()].sort((a, b) => b[1] - a[1] || compare(a[0], b[0])).map(([cause, n]) => `${n} ${cause}`);
  out.push(`${total} dropped flow${total === 1 ? '' : 's'} in ${items.length} group${items.length === 1 ? '' : 's'}: ${causes.join(', ')}`);
  return `${out.join('\n')}\n`;
}

export function formatDiagnosesJson(items: readonly Diagnosed[]): string {
  const drops = items.map(({ group, diagnosis }) => ({
    namespace: group.namespace,
    from: group.flow.source.text,
    to: group.flow.destination.text,
    port: group.port,
    direction: group.flow.direction,
    dropReason: group.flow.dropReason,
    count: groupCount(group),
    cause: diagnosis.cause,
    fix: diagnosis.fix,
    detail: diagnosis.detail,
    proof: diagnosis.proof
      ? { verdict: diagnosis.proof.verdict, egress: { verdict: diagnosis.proof.egress.verdict, reasons: diagnosis.proof.egress.reasons }, ingress: { verdict: diagnosis.proof.ingress.verdict, reasons: diagnosis.proof.ingress.reasons } }
      : null,
  }));
  return `${JSON.stringify({ drops }, null, 2)}\n`;
}
