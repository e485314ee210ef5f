// `simulate` output: a table (one line per flow, each side's decisive reason) or JSON with every
// reason. Matrices are printed a line per cell, in chunks, so a million cells never sit in memory
// as one string.

import type { FlowVerdict, Reason, SideVerdict } from '../engine/engine.js';
import type { AskedFlow } from './flows.js';
import { VERDICTS, type MatrixChange, type MatrixPlan } from './matrix.js';

export type SimulateFormat = 'table' | 'json';
export const SIMULATE_FORMATS: readonly SimulateFormat[] = ['table', 'json'];

export interface FlowResult {
  flow: AskedFlow;
  result: FlowVerdict;
}

/** The expectation failed (a flow with no expectation fails when it is not allowed). */
export function flowFailed({ flow, result }: FlowResult): boolean {
  return flow.expect !== undefined ? result.verdict !== flow.expect : result.verdict !== 'allowed';
}

const SHORT_KINDS: Record<string, string> = { CiliumNetworkPolicy: 'CNP', CiliumClusterwideNetworkPolicy: 'CCNP' };

function shortPolicy(policy: string): string {
  const space = policy.indexOf(' ');
  const kind = policy.slice(0, space);
  return `${SHORT_KINDS[kind] ?? kind} ${policy.slice(space + 1)}`;
}

function shortReason(reason: Reason): string {
  switch (reason.type) {
    case 'allow':
      return `allow ${shortPolicy(reason.policy)} ${reason.rule}`;
    case 'deny':
      return `deny ${shortPolicy(reason.policy)} ${reason.rule}`;
    case 'default-deny':
      return `default-deny (${shortPolicy(reason.policy)})`;
    case 'unknown':
      return `unknown: ${shortPolicy(reason.policy)} ${reason.rule}: ${reason.detail}`;
    case 'not-enforced':
      return 'not enforced';
    case 'allow-localhost':
      return 'allow-localhost';
    case 'not-an-endpoint':
      return '- (not an endpoint)';
  }
}

/** One cell of text for a side: its decisive reason, how many more, and the L7 note. */
export function sideSummary(side: SideVerdict): string {
  const [first, ...rest] = side.reasons;
  if (!first) return side.verdict;
  const more = rest.length > 0 && (first.type === 'allow' || first.type === 'default-deny') ? ` +${rest.length}` : '';
  return `${shortReason(first)}${more}${side.l7 ? ` then L7 ${side.l7.join(',')}` : ''}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatFlowsTable(results: readonly FlowResult[]): string {
  const withExpect = results.some((r) => r.flow.expect !== undefined);
  const header = ['FROM', 'TO', 'PORT', 'VERDICT', ...(withExpect ? ['EXPECT'] : []), 'EGRESS', 'INGRESS'];
  const rows = results.map(({ flow, result }) => [
    flow.fromText,
    flow.toText,
    flow.portText,
    result.verdict,
    ...(withExpect ? [flow.expect === undefined ? '-' : flow.expect === result.verdict ? `${flow.expect} ok` : `${flow.expect} FAILED`] : []),
    sideSummary(result.egress),
    sideSummary(result.ingress),
  ]);
  return table(header, rows) + flowsSummary(results) + '\n';
}

export function flowsSummary(results: readonly FlowResult[]): string {
  const count = (verdict: string) => results.filter((r) => r.result.verdict === verdict).length;
  const parts = [`${count('allowed')} allowed`, `${count('denied')} denied`];
  if (count('unknown') > 0) parts.push(`${count('unknown')} unknown`);
  const expectations = results.filter((r) => r.flow.expect !== undefined);
  let line = `${results.length} flow${results.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
  if (expectations.length > 0) {
    const failed = expectations.filter(flowFailed).length;
    line += failed === 0 ? `; all ${expectations.length} expectations held` : `; ${failed} of ${expectations.length} expectations failed`;
  }
  return line;
}

function sideJson(side: SideVerdict): Record<string, unknown> {
  return { enforced: side.enforced, verdict: side.verdict, ...(side.l7 ? { l7: side.l7 } : {}), reasons: side.reasons };
}

export function flowJson({ flow, result }: FlowResult): Record<string, unknown> {
  return {
    from: flow.fromText,
    to: flow.toText,
    port: flow.portText,
    verdict: result.verdict,
    ...(flow.expect !== undefined ? { expect: flow.expect } : {}),
    egress: sideJson(result.egress),
    ingress: sideJson(result.ingress),
  };
}

export function formatFlowsJson(results: readonly FlowResult[]): string {
  return `${JSON.stringify({ flows: results.map(flowJson) }, null, 2)}\n`;
}

const CHUNK = 2000;

/** Every cell, a line each (table) or as JSON, written through `write` in chunks. */
export function writeMatrix(plan: MatrixPlan, cells: Uint8Array, format: SimulateFormat, write: (text: string) => void): void {
  const counts = [0, 0, 0];
  for (const code of cells) counts[code]!++;
  const summary = { cells: cells.length, allowed: counts[1]!, denied: counts[0]!, unknown: counts[2]! };
  const targets = plan.targets.length;
  let buffer: string[] = [];
  const flush = () => {
    if (buffer.length > 0) write(buffer.join(''));
    buffer = [];
  };
  if (format === 'json') {
    write('{"cells":[\n');
    let first = true;
    plan.sources.forEach((source, s) => {
      for (let t = 0; t < targets; t++) {
        const target = plan.targets[t]!;
        const cell = { from: source.text, to: target.text, port: target.portText, verdict: VERDICTS[cells[s * targets + t]!] };
        buffer.push(`${first ? '' : ',\n'}${JSON.stringify(cell)}`);
        first = false;
        if (buffer.length >= CHUNK) flush();
      }
    });
    flush();
    write(`\n],"summary":${JSON.stringify(summary)}}\n`);
    return;
  }
  const fromWidth = Math.max(4, ...plan.sources.map((s) => s.text.length));
  const toWidth = Math.max(2, ...plan.targets.map((t) => t.text.length));
  const portWidth = Math.max(4, ...plan.targets.map((t) => t.portText.length));
  write(`${'FROM'.padEnd(fromWidth)}   ${'TO'.padEnd(toWidth)}   ${'PORT'.padEnd(portWidth)}   VERDICT\n`);
  plan.sources.forEach((source, s) => {
    const from = source.text.padEnd(fromWidth);
    for (let t = 0; t < targets; t++) {
      const target = plan.targets[t]!;
      buffer.push(`${from}   ${target.text.padEnd(toWidth)}   ${target.portText.padEnd(portWidth)}   ${VERDICTS[cells[s * targets + t]!]}\n`);
      if (buffer.length >= CHUNK) flush();
    }
  });
  flush();
  write(`${summary.cells} cells: ${summary.allowed} allowed, ${summary.denied} denied${summary.unknown > 0 ? `, ${summary.unknown} unknown` : ''}\n`);
}

export interface ExplainedChange extends MatrixChange {
  /** The after state's reasons, when the cell exists after the change. */
  explained?: FlowVerdict;
}

export function formatChanges(changes: readonly ExplainedChange[], format: SimulateFormat): string {
  if (format === 'json') {
    return `${JSON.stringify(
      {
        changes: changes.map(({ from, to, port, before, after, explained }) => ({
          from,
          to,
          port,
          before,
          after,
          ...(explained ? { egress: sideJson(explained.egress), ingress: sideJson(explained.ingress) } : {}),
        })),
      },
      null,
      2,
    )}\n`;
  }
  const rows = changes.map((change) => [
    change.from,
    change.to,
    change.port,
    change.before,
    change.after,
    change.explained ? `egress: ${sideSummary(change.explained.egress)}; ingress: ${sideSummary(change.explained.ingress)}` : '-',
  ]);
  const opened = changes.filter((c) => c.after === 'allowed' && c.before !== 'allowed').length;
  const closed = changes.filter((c) => c.before === 'allowed' && c.after !== 'allowed').length;
  const summary =
    changes.length === 0
      ? 'no cell changes'
      : `${changes.length} cell${changes.length === 1 ? '' : 's'} change: ${opened} newly allowed, ${closed} no longer allowed, ${changes.length - opened - closed} other`;
  return (changes.length > 0 ? table(['FROM', 'TO', 'PORT', 'BEFORE', 'AFTER', 'WHY (AFTER)'], rows) : '') + summary + '\n';
}
