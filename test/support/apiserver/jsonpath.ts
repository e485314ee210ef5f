// The JSONPath subset CRD printer columns use: `.a.b`, `['a.b']`, `[0]`, `[*]`, `[?(@.k=='v')]`.
import { isRecord } from './types.js';

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: Step[]; op: '==' | '!='; value: unknown };

const compiledPaths = new Map<string, Step[]>();

/** Parses a printer-column path; throws on syntax outside the supported subset. */
export function compileJsonPath(path: string): Step[] {
  let steps = compiledPaths.get(path);
  if (!steps) {
    let text = path.trim();
    if (text.startsWith('{') && text.endsWith('}')) text = text.slice(1, -1);
    if (text.startsWith('$')) text = text.slice(1);
    steps = parseSteps(text);
    compiledPaths.set(path, steps);
  }
  return steps;
}

function parseSteps(text: string): Step[] {
  const steps: Step[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      i++;
      const m = /^[^.[\]]+/.exec(text.slice(i));
      if (!m) {
        if (text[i] === '[' || i >= text.length) continue;
        throw new Error(`unsupported JSONPath ${text}`);
      }
      steps.push(m[0] === '*' ? { kind: 'all' } : { kind: 'field', name: m[0] });
      i += m[0].length;
    } else if (ch === '[') {
      const end = findClosingBracket(text, i);
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else if (inner.startsWith('?(') && inner.endsWith(')')) steps.push(parseFilter(inner.slice(2, -1)));
      else throw new Error(`unsupported JSONPath segment [${inner}]`);
    } else {
      throw new Error(`unsupported JSONPath ${text}`);
    }
  }
  return steps;
}

function findClosingBracket(text: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < text.length; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '[') {
      depth++;
    } else if (ch === ']') {
      depth--;
      if (depth === 0) return i;
    }
  }
  throw new Error(`unterminated [ in JSONPath ${text}`);
}

function parseFilter(expr: string): Step {
  const m = /^@((?:\.[^.=!\s]+)+)\s*(==|!=)\s*(.+)$/.exec(expr.trim());
  if (!m) throw new Error(`unsupported JSONPath filter ${expr}`);
  const raw = m[3]!.trim();
  const value = /^'.*'$|^".*"$/.test(raw) ? raw.slice(1, -1) : raw === 'true' ? true : raw === 'false' ? false : Number(raw);
  return { kind: 'filter', path: parseSteps(m[1]!), op: m[2] as '==' | '!=', value };
}

/** All values `steps` select in `root`, in document order. */
export function evaluateJsonPath(steps: Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const node of current) {
      switch (step.kind) {
        case 'field':
          if (isRecord(node) && node[step.name] !== undefined) next.push(node[step.name]);
          break;
        case 'index':
          if (Array.isArray(node)) {
            const i = step.index < 0 ? node.length + step.index : step.index;
            if (i >= 0 && i < node.length) next.push(node[i]);
          }
          break;
        case 'all':
          if (Array.isArray(node)) next.push(...node);
          else if (isRecord(node)) next.push(...Object.values(node));
          break;
        case 'filter':
          if (Array.isArray(node)) {
            for (const item of node) {
              const [found] = evaluateJsonPath(step.path, item);
              if ((found === step.value) !== (step.op === '!=')) next.push(item);
            }
          }
          break;
      }
    }
    current = next;
  }
  return current;
}
