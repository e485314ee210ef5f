// Label and field selectors of list and watch requests, parsed with the API server's grammar.
import { badRequest } from './errors.js';
import type { KubeObject } from './types.js';
import { labelValueErrors, qualifiedNameErrors } from './validation.js';

type Operator = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';

interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;

const MATCH_ALL: LabelSelector = () => true;

/** Parses `a=b,c!=d,e in (f,g),!h,i` into a predicate; throws a 400 ApiError on bad syntax or values. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (text === null || text === undefined || text.trim() === '') return MATCH_ALL;
  const requirements = splitRequirements(text).map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

function splitRequirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw badRequest(`unable to parse requirement: found ')', expected: identifier`);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  if (depth !== 0) throw badRequest(`unable to parse requirement: found '', expected: ')'`);
  parts.push(current);
  return parts;
}

const SET_RE = /^\s*([^\s!=<>(),]+)\s+(in|notin)\s*\(([^()]*)\)\s*$/;
const BINARY_RE = /^\s*([^\s!=<>(),]+)\s*(==|=|!=|>|<)\s*([^\s!=<>(),]*)\s*$/;
const EXISTS_RE = /^\s*(!?)\s*([^\s!=<>(),]+)\s*$/;

function parseRequirement(part: string): Requirement {
  let req: Requirement;
  const set = SET_RE.exec(part);
  const binary = BINARY_RE.exec(part);
  const exists = EXISTS_RE.exec(part);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    req = { key: set[1]!, op: set[2] as 'in' | 'notin', values: values.length === 1 && values[0] === '' ? [] : values };
    if (req.values.length === 0) throw badRequest(`unable to parse requirement: for 'in', 'notin' operators, values set can't be empty`);
  } else if (binary) {
    const sym = binary[2]!;
    const op: Operator = sym === '!=' ? '!=' : sym === '>' ? 'gt' : sym === '<' ? 'lt' : '=';
    req = { key: binary[1]!, op, values: [binary[3]!] };
  } else if (exists) {
    req = { key: exists[2]!, op: exists[1] === '!' ? '!exists' : 'exists', values: [] };
  } else {
    throw badRequest(`unable to parse requirement: couldn't parse the selector string "${part.trim()}"`);
  }
  const keyErrors = qualifiedNameErrors(req.key);
  if (keyErrors.length > 0) {
    throw badRequest(`unable to parse requirement: key: Invalid value: ${JSON.stringify(req.key)}: ${keyErrors.join('; ')}`);
  }
  if (req.op === 'gt' || req.op === 'lt') {
    if (!/^-?\d+$/.test(req.values[0]!)) {
      throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
    }
  } else {
    req.values.forEach((v, i) => {
      const errs = labelValueErrors(v);
      if (errs.length > 0) {
        throw badRequest(`unable to parse requirement: values[${i}][${req.key}]: Invalid value: ${JSON.stringify(v)}: ${errs.join('; ')}`);
      }
    });
  }
  return req;
}

function matches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
      return has && value === r.values[0];
    case '!=':
      return !has || value !== r.values[0];
    case 'in':
      return has && r.values.includes(value!);
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'gt':
      return has && /^-?\d+$/.test(value!) && Number(value) > Number(r.values[0]);
    case 'lt':
      return has && /^-?\d+$/.test(value!) && Number(value) < Number(r.values[0]);
  }
}

/**
 * A `metav1.LabelSelector` object (`matchLabels`, `matchExpressions` with In, NotIn, Exists,
 * DoesNotExist) as a predicate. An empty or absent selector matches everything; an operator the
 * API does not know matches nothing.
 */
export function labelSelectorMatcher(selector: unknown): LabelSelector {
  if (typeof selector !== 'object' || selector === null) return MATCH_ALL;
  const { matchLabels, matchExpressions } = selector as { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
  const requirements: Requirement[] = Object.entries(matchLabels ?? {}).map(([key, value]) => ({ key, op: '=', values: [value] }));
  const ops: Record<string, Operator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!exists' };
  for (const e of matchExpressions ?? []) {
    const op = ops[e.operator];
    if (!op) return () => false;
    requirements.push({ key: e.key, op, values: e.values ?? [] });
  }
  if (requirements.length === 0) return MATCH_ALL;
  return (labels) => requirements.every((r) => matches(r, labels ?? {}));
}

export type FieldSelector = (obj: KubeObject) => boolean;

/** Fields every kind supports; kinds add their own (see ResourceType). */
const COMMON_FIELDS: Record<string, (obj: KubeObject) => string | undefined> = {
  'metadata.name': (o) => o.metadata.name,
  'metadata.namespace': (o) => o.metadata.namespace ?? '',
};

const KIND_FIELDS: Record<string, Record<string, (obj: KubeObject) => string | undefined>> = {
  Namespace: { 'status.phase': (o) => str((o.status as Record<string, unknown> | undefined)?.phase) },
  Event: {
    'involvedObject.kind': (o) => str(field(o, 'involvedObject', 'kind')),
    'involvedObject.namespace': (o) => str(field(o, 'involvedObject', 'namespace')),
    'involvedObject.name': (o) => str(field(o, 'involvedObject', 'name')),
    'involvedObject.uid': (o) => str(field(o, 'involvedObject', 'uid')),
    'involvedObject.apiVersion': (o) => str(field(o, 'involvedObject', 'apiVersion')),
    'involvedObject.resourceVersion': (o) => str(field(o, 'involvedObject', 'resourceVersion')),
    'involvedObject.fieldPath': (o) => str(field(o, 'involvedObject', 'fieldPath')),
    reason: (o) => str(o.reason),
    reportingComponent: (o) => str(o.reportingComponent),
    source: (o) => str(field(o, 'source', 'component')),
    type: (o) => str(o.type),
  },
};

function field(o: KubeObject, a: string, b: string): unknown {
  const inner = o[a];
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>)[b] : undefined;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Parses `metadata.name=x,metadata.namespace!=y`; throws 400 for fields the kind does not support. */
export function parseFieldSelector(text: string | null | undefined, storageKind: string): FieldSelector {
  if (text === null || text === undefined || text.trim() === '') return () => true;
  const getters = { ...COMMON_FIELDS, ...(KIND_FIELDS[storageKind] ?? {}) };
  const terms = splitUnescaped(text, ',').map((term) => {
    const m = /^([^=!]+?)\s*(==|=|!=)\s*(.*)$/s.exec(term);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    const key = m[1]!.trim();
    const get = getters[key];
    if (!get) throw badRequest(`field label not supported: ${key}`);
    return { get, negate: m[2] === '!=', value: unescape(m[3]!) };
  });
  return (obj) => terms.every((t) => ((t.get(obj) ?? '') === t.value) !== t.negate);
}

function splitUnescaped(text: string, sep: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += ch + text[i + 1]!;
      i++;
    } else if (ch === sep) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out;
}

function unescape(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}
